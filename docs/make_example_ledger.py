"""Write docs/example-ledger.xlsx: a county's hazard ledger (台账) laid out the way offices keep one by hand.

    .venv/bin/python docs/make_example_ledger.py [OUTPUT.xlsx]

A merged title row, a metadata row (填报单位 / 填报时间 / 填报人), a two-row header with the five implementations
(五落实) as a group over its sub-headers, an enterprise merged down over its two hazards, dates as date cells,
a bare Excel serial and written-out dates, a blank row and a pre-numbered empty row, and a notes block with a
signature line under the data. There is no region column (a county's own ledger): import it with
`--set region=371721`. The file is reproducible: the same bytes on every run.
"""
from __future__ import annotations

import sys
from datetime import date, datetime
from pathlib import Path

import xlsxwriter

OUTPUT = Path(__file__).with_name("example-ledger.xlsx")
TITLE = "曹县2026年第一季度生产安全事故隐患排查治理台账"
META = "填报单位：曹县应急管理局（盖章）          填报时间：2026年3月31日          填报人：刘明"
TOP = ["序号", "企业名称", "行业", "隐患内容", "隐患类型", "隐患级别", "隐患来源", "排查日期", "五落实", "", "", "", "", "",
       "复查日期", "复查人", "复查结果", "隐患状态"]
SUB = ["", "", "", "", "", "", "", "", "整改措施", "责任单位", "责任人", "资金（万元）", "时限", "预案", "", "", "", ""]
E = ""  # an empty cell
ROWS = [
    [1, "曹县鑫源化工有限公司", "危险化学品", "液氨储罐区未设置可燃有毒气体泄漏检测报警装置", "中毒和窒息", "重大事故隐患", "执法检查",
     date(2026, 1, 12), "加装有毒气体检测报警仪，与紧急切断阀联锁", "曹县鑫源化工有限公司", "王建国", 15, date(2026, 3, 31),
     "液氨泄漏专项应急预案", date(2026, 3, 25), "张卫东", "验收合格", "已整改"],
    [2, None, "危险化学品", "涉及重点监管危险化工工艺的装置未实现自动化控制", "火灾、爆炸", "重大事故隐患", "执法检查",
     date(2026, 1, 12), "委托设计单位完成自动化改造并投用", "曹县鑫源化工有限公司", "王建国", 80, "2026年6月30日",
     "危险化工工艺事故专项预案", E, E, E, "整改中"],
    [3, "曹县华纺纺织有限公司", "工贸", "粉尘涉爆除尘系统未设置锁气卸灰装置", "粉尘爆炸", "重大隐患", "暗查暗访", "2026年1月20日",
     "加装星型卸灰阀，定期清灰", "设备科", "李春生", 3.5, "2026/2/28", "粉尘爆炸专项应急预案", date(2026, 3, 2), "赵亮",
     "合格", "已销号"],
    [4, "曹县恒力机械厂", "工贸", "车间配电箱未可靠接地", "触电", "一般", "企业自查", 46045, "立即整改，重新接地", "电工班", "孙强",
     E, "立即", E, date(2026, 1, 23), "孙强", "合格", "已整改"],
    [5, "山东菏建建筑工程有限公司曹县项目部", "建筑施工", "外脚手架连墙件缺失，局部未按方案设置", "高处坠落、坍塌", "一般隐患",
     "执法检查", date(2026, 2, 3), "按专项方案补设连墙件", "项目部", "周涛", 0.8, date(2026, 2, 10), E, date(2026, 2, 11),
     "吴敏", "合格", "已验收"],
    [6, "曹县中裕燃气有限公司", "燃气", "调压站安全阀超期未校验", "火灾、爆炸", "一般事故隐患", "企业自查", date(2026, 2, 9),
     "送检安全阀并建立校验台账", "运行部", "郑海", 0.2, date(2026, 2, 28), E, E, E, E, "待验收"],
    [],
    [7, "曹县森达木业有限公司", "工贸", "成品库消防通道被杂物堵塞", "火灾", "一般", "部门检查", "2026.2.16", "清理杂物，划定通道",
     "仓储部", "冯磊", E, "立即", E, date(2026, 2, 16), "陈刚", "合格", "已销号"],
    [8, "中国石化曹县青荷加油站", "危险化学品", "卸油区静电接地报警器损坏", "火灾、爆炸", "一般", "举报", date(2026, 2, 24),
     "更换静电接地报警器", "加油站", "褚红", 0.3, date(2026, 3, 3), E, E, E, E, "整改中"],
    [9, "曹县金山矿业有限公司", "非煤矿山", "尾矿库排洪设施排洪能力不满足设计要求", "溃坝", "重大事故隐患", "督查组",
     date(2026, 3, 4), "编制治理方案，扩建排洪井及排洪隧洞", "曹县金山矿业有限公司", "卫东升", 260, date(2026, 9, 30),
     "尾矿库溃坝专项应急预案", E, E, E, "整改中"],
    [10, "曹县冷源食品有限公司", "工贸", "液氨制冷车间速冻设备加工区作业人员超过9人", "中毒和窒息", "重大", "异地执法",
     date(2026, 3, 10), E, E, E, E, E, E, E, E, E, "未整改"],
    [11, "曹县顺通物流有限公司", "道路运输", "危险货物运输车辆卫星定位装置未正常使用", "车辆伤害", "一般", "执法检查",
     "20260317", "维修定位装置并接入监控平台", "安全部", "蒋涛", E, date(2026, 3, 24), E, E, E, E, "整改中"],
    [12, "曹县万隆商贸城", "消防", "自动喷水灭火系统末端试水装置压力不足", "火灾", "一般隐患", "四不两直", date(2026, 3, 20),
     "检修喷淋泵及管网", "物业部", "沈佳", 1.2, date(2026, 4, 10), "商场火灾应急预案", E, E, E, "整改中"],
    [13],
]
NOTES = ["说明：1. 本台账按季度报送，每月25日前更新整改进展；2. 重大事故隐患须附治理方案和挂牌督办文书；"
         "3. 资金单位为万元；4. 整改期限填“立即”的为立查立改。"]
SIGN = "审核人：赵晓燕          负责人：钱进"
WIDTHS = [5, 24, 10, 34, 11, 12, 10, 12, 30, 20, 9, 10, 12, 22, 12, 8, 9, 9]


def write(path: Path) -> Path:
    book = xlsxwriter.Workbook(str(path))
    book.set_properties({"title": TITLE, "author": "曹县应急管理局", "created": datetime(2026, 3, 31, 17, 0)})
    ws = book.add_worksheet("2026年一季度")
    title = book.add_format({"bold": True, "font_size": 16, "align": "center", "valign": "vcenter"})
    head = book.add_format({"bold": True, "border": 1, "align": "center", "valign": "vcenter", "text_wrap": True,
                            "bg_color": "#DDEBF7"})
    cell = book.add_format({"border": 1, "valign": "vcenter", "text_wrap": True})
    day = book.add_format({"border": 1, "valign": "vcenter", "num_format": "yyyy年m月d日"})
    note = book.add_format({"text_wrap": True, "valign": "top"})
    last = len(TOP) - 1
    for c, width in enumerate(WIDTHS):
        ws.set_column(c, c, width)
    ws.merge_range(0, 0, 0, last, TITLE, title)
    ws.set_row(0, 30)
    ws.merge_range(1, 0, 1, last, META)
    for c, (upper, lower) in enumerate(zip(TOP, SUB)):
        if lower:
            ws.write_string(3, c, lower, head)
        elif upper:
            ws.merge_range(2, c, 3, c, upper, head)
    ws.merge_range(2, 8, 2, 13, "五落实", head)
    ws.freeze_panes(4, 0)
    r = 4
    for row in ROWS:
        for c, value in enumerate(row):
            if value is None:
                continue
            if isinstance(value, date):
                ws.write_datetime(r, c, datetime(value.year, value.month, value.day), day)
            elif isinstance(value, (int, float)):
                ws.write_number(r, c, value, cell)
            else:
                ws.write_string(r, c, value, cell)
        r += 1
    ws.merge_range(4, 1, 5, 1, "曹县鑫源化工有限公司", cell)  # one enterprise over its two hazards
    ws.merge_range(r, 0, r, last, NOTES[0], note)
    ws.set_row(r, 36)
    ws.write_string(r + 2, 12, SIGN)
    book.close()
    return path


if __name__ == "__main__":
    print(write(Path(sys.argv[1]) if len(sys.argv) > 1 else OUTPUT))
