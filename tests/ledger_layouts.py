"""Test ledgers laid out as the real ones issue 21 names, made here (seeded, so every run writes the same bytes).

Each function writes one file into a folder and returns a `Layout`: the file, what the sheet does not hold at
all (the only `--set` values an import of it may need), the user who would import it, and, for every data row,
what the sheet means by it (`Expected`), so a test can compare the import with the sheet's own meaning.

1. `power_plant_ledger`: a power-plant group's 隐患排查治理台账 (title, 填报单位 line, a two-row header with the
   five implementations as 是/否 under a group title, 隐患类别（一般、重大） with Ⅰ级重大 / Ⅱ级重大, date cells,
   a 填报人 / 审核 / 批准 row, 填写要求 and 注意 blocks), and `power_plant_template`: the group system's
   隐患导入模板 (an instruction row above the header, `*` on required headers, the hazard code YYYYMMDD + serial
   carrying the found date, the enterprise given only by its 统一社会信用代码).
2. `railway_register`: a railway construction headquarters' register (a three-row header, 整改责任单位 over
   建设 / 设计 / 施工 / 监理 two rows down, 1级-5级 with a note row saying 1级为重大隐患, a 615-character numbered
   list in one 事故隐患名称与内容 cell, 检查场所, no enterprise column).
3. `city_major_table`: a city system's 重大事故隐患情况表 (所属区县 by name, 登记时间 as the system writes it,
   挂牌督办 columns under a group title, 整改截止时间, 隐患状态 整改中 / 已整改 / 已销号).
4. `park_dual_prevention` and `park_enforcement`: a chemical park platform's 双重预防 export (排查类型, 治理类型
   即查即改 / 限期整改, states 审核中 … 已关闭) and its 执法检查 export (检查场所, 隐患问题描述, 责令整改期限, 专项检查).

Nothing here is copied from a real ledger: names, codes and problems are drawn from the pools below.
"""
from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path

from engine.domain.enterprises import check_character
from tests.ledger_sheets import make_xlsx

# Where a layout's import happens (the suite's `--now`): every date below lies before it.
NOW = "2026-04-01T09:00"


@dataclass(frozen=True)
class Expected:
    """What the sheet means by one data row, as a user checking the import would read it."""
    row: int                      # the row number Excel shows
    title: str
    level: str                    # general / major
    state: str                    # the workflow state the row's stage lands on (major-hazard / general-hazard)
    found: str                    # the found day, YYYY-MM-DD
    enterprise: str
    region: str                   # six digits
    source: str
    grade: str | None = None      # the sheet's own grade word, where it is not the engine's own level word
    deadline: str | None = None
    credit_code: str | None = None
    responsible_person: str | None = None
    location: str | None = None
    missing_implementations: tuple[str, ...] | None = None
    posted: tuple[str, str] | None = None  # (authority, document number) of a posted supervision (挂牌督办)


@dataclass
class Layout:
    path: Path
    actor: str                    # the suite's user who would import it
    sets: dict[str, str]          # facts the sheet does not hold at all
    rows: list[Expected]
    not_data: list[int]           # rows Excel shows that are signature, instruction or note rows
    headers: dict[str, str] = field(default_factory=dict)  # header as written -> the field the sheet means
    misread: dict[str, str] = field(default_factory=dict)  # header as written -> a field the sheet does not mean by it

    def set_options(self) -> list[str]:
        return [a for name, value in self.sets.items() for a in ("--set", f"{name}={value}")]


def credit_code(rng: random.Random, region: str) -> str:
    """A well-formed 统一社会信用代码 of a company (91) registered in `region`, with its check character."""
    letters = "0123456789ABCDEFGHJKLMNPQRTUWXY"
    body = "91" + region + "".join(rng.choice(letters) for _ in range(9))
    return body + check_character(body)


def written(rng: random.Random, day: date) -> object:
    """A date as an office writes it: a date cell mostly, else one of the ways people type it."""
    return rng.choice([day, day, day, f"{day.year}年{day.month}月{day.day}日", f"{day.year}.{day.month}.{day.day}",
                       f"{day.year}/{day.month}/{day.day}"])


def state_of(stage: str, level: str) -> str:
    """The state a ledger stage lands on, as the built-in workflows' ledger_stages say."""
    if level == "general":
        return {"assigned": "rectifying", "verified": "closed"}.get(stage, stage)
    return stage


# -- 1. a power-plant group --------------------------------------------------------------------------------------

PLANT = "华电某某发电有限公司"
PLANT_PROBLEMS = [
    ("#1机组磨煤机联轴器防护罩缺失", "输煤系统", "加装联轴器防护罩"),
    ("#2炉零米层排污扩容器安全阀校验超期", "锅炉零米", "联系有资质单位校验安全阀"),
    ("氨区液氨储罐喷淋系统不能自动启动", "脱硝氨区", "检修喷淋联锁，完成启动试验"),
    ("220kV升压站GIS室SF6泄漏报警装置失灵", "升压站", "更换报警探头并校验"),
    ("输煤栈桥消防水管道多处锈蚀渗漏", "输煤栈桥", "更换锈蚀管段"),
    ("汽机房13.7米平台临边栏杆高度不足1.05米", "汽机房", "加高临边防护栏杆"),
    ("燃油泵房可燃气体报警器未接入DCS", "燃油泵房", "报警信号接入DCS并设声光报警"),
    ("#1主变事故油池容量不满足要求", "主变区域", "扩建事故油池"),
    ("化学水处理车间酸碱储罐围堰破损", "化学车间", "修复围堰并做防腐"),
    ("脱硫吸收塔检修平台格栅板腐蚀松动", "脱硫区域", "更换格栅板"),
]
PEOPLE = ["王建国", "李明", "张伟", "刘洋", "陈志强", "杨帆", "赵磊", "孙海涛", "周军", "吴斌", "郑浩", "冯晓东"]


def power_plant_ledger(folder: Path, *, rows: int = 8, seed: int = 21) -> Layout:
    """The plant's 隐患排查治理台账: a group's template filled in by hand in Excel."""
    rng = random.Random(seed)
    width = 17
    top = [["华电某某发电有限公司隐患排查治理台账（2026年第一季度）"] + [""] * (width - 1),
           ["填报单位：华电某某发电有限公司（盖章）"] + [""] * 11 + ["填报日期：2026年3月31日"] + [""] * 4,
           ["序号", "隐患编号", "隐患问题描述", "隐患类别（一般、重大）", "隐患发现日期", "隐患部位", "整改责任人姓名",
            "计划完成整改时间", "控制措施", "治理“五落实”情况", "", "", "", "整改完成情况", "整改完成时间", "验收人", "备注"],
           [""] * 9 + ["落实治理目标", "落实机构人员", "落实安全措施及应急预案", "落实经费物资"] + [""] * 4]
    data, expected = [], []
    levels = ["Ⅰ级重大", "Ⅱ级重大"] + ["一般"] * (rows - 2)
    rng.shuffle(levels)
    for i in range(rows):
        title, place, measure = PLANT_PROBLEMS[i % len(PLANT_PROBLEMS)]
        found = date(2026, 1, 5) + timedelta(days=rng.randrange(0, 70))
        deadline = found + timedelta(days=rng.choice([15, 30, 45, 60]))
        word = levels[i]
        level = "general" if word == "一般" else "major"
        person = rng.choice(PEOPLE)
        done = level == "general" and deadline < date(2026, 3, 28) and rng.random() < 0.6
        yes = ["是", "是", "是", "是"]
        if level == "major" and word == "Ⅱ级重大":
            yes[3] = "否"  # the funds are not in place yet
        finished = deadline - timedelta(days=rng.randrange(1, 5)) if done else None
        result = "已完成" if done else rng.choice(["整改中", ""])
        data.append([i + 1, f"HDMM-2026-{i + 1:03d}", title, word, written(rng, found), place, person, deadline,
                     measure, *yes, result, finished or "", "", ""])
        # 已完成 with its completion date is rectified, awaiting acceptance; 整改中, or an open row with its person,
        # measures and deadline, is being rectified.
        stage = "verifying" if done else "rectifying"
        expected.append(Expected(
            row=len(top) + i + 1, title=title, level=level, state=state_of(stage, level), found=found.isoformat(),
            enterprise=PLANT, region="371721", source="self_check", grade=None if word == "一般" else word,
            deadline=deadline.isoformat(), responsible_person=person, location=place,
            missing_implementations=(("funds",) if yes[3] == "否" else ()) if level == "major" else None))
    first_tail = len(top) + rows + 1
    tail = [["填报人：刘洋", "", "", "", "", "审核：陈志强", "", "", "", "", "批准：", "", "", "", "", "", ""],
            ["填写要求：1.隐患编号按“单位简称-年份-序号”填写；2.隐患类别填写一般或重大，重大隐患注明Ⅰ级、Ⅱ级；"
             "3.“五落实”各项填写是或否。"] + [""] * (width - 1),
            ["注意：（1）重大隐患须同时报送治理方案；（2）本表每季度末月25日前报安全监察部。"] + [""] * (width - 1)]
    merges = [f"A1:{col(width)}1"] + [f"{c}3:{c}4" for c in "ABCDEFGHI"] + ["J3:M3"] + \
        [f"{c}3:{c}4" for c in "NOPQ"] + [f"A{first_tail + 1}:{col(width)}{first_tail + 1}",
                                          f"A{first_tail + 2}:{col(width)}{first_tail + 2}"]
    path = make_xlsx(folder / "隐患排查治理台账.xlsx", top + data + tail, merges=tuple(merges), sheet="2026年一季度")
    return Layout(path=path, actor="zhang",
                  sets={"enterprise": PLANT, "region": "371721", "industry": "电力", "source": "self_check"},
                  rows=expected, not_data=[first_tail, first_tail + 1, first_tail + 2],
                  headers={"隐患编号": "id", "隐患问题描述": "title", "隐患类别（一般、重大）": "level",
                           "隐患发现日期": "found_at", "整改责任人姓名": "responsible_person",
                           "计划完成整改时间": "deadline", "控制措施": "measures", "整改完成情况": "result",
                           "落实治理目标": "five_measures", "落实机构人员": "five_people",
                           "落实安全措施及应急预案": "five_plan", "落实经费物资": "five_funds"})


def power_plant_template(folder: Path, *, rows: int = 6, seed: int = 22) -> Layout:
    """The group system's 隐患导入模板, filled in: an instruction row above the header, `*` on required headers,
    the hazard code YYYYMMDD + serial carrying the found date, and no found-date column, no enterprise name."""
    rng = random.Random(seed)
    header = ["*隐患编码", "*企业编码", "*隐患名称", "*隐患级别", "隐患来源", "隐患部位", "整改措施", "整改责任人", "整改期限"]
    top = [["填写说明：1.带*为必填项；2.隐患编码由发现日期（YYYYMMDD）加3位流水号组成，如20260305001；"
            "3.企业编码填写统一社会信用代码；4.隐患级别填写一般隐患或重大隐患；5.日期格式为yyyy-mm-dd。"]
           + [""] * (len(header) - 1), header]
    plants = [credit_code(rng, "371721") for _ in range(2)]
    sources = ["日常排查", "专业性排查", "季节性排查", "综合性排查"]
    data, expected, serial = [], [], {}
    for i in range(rows):
        title, place, measure = PLANT_PROBLEMS[(i + 3) % len(PLANT_PROBLEMS)]
        found = date(2026, 2, 2) + timedelta(days=rng.randrange(0, 50))
        serial[found] = serial.get(found, 0) + 1
        code = f"{found:%Y%m%d}{serial[found]:03d}"
        level = "major" if i == 2 else "general"
        deadline = found + timedelta(days=30)
        person, company = rng.choice(PEOPLE), plants[i % 2]
        data.append([code, company, title, "重大隐患" if level == "major" else "一般隐患", sources[i % len(sources)],
                     place, measure, person, deadline.isoformat()])
        expected.append(Expected(
            row=len(top) + i + 1, title=title, level=level, state=state_of("rectifying", level),
            found=found.isoformat(), enterprise=company, credit_code=company, region="371721",
            source="self_check", deadline=deadline.isoformat(), responsible_person=person, location=place))
    path = make_xlsx(folder / "隐患导入模板.xlsx", top + data, merges=(f"A1:{col(len(header))}1",), sheet="隐患信息")
    return Layout(path=path, actor="zhang", sets={"region": "371721", "industry": "电力"}, rows=expected,
                  not_data=[1],
                  headers={"*隐患编码": "id", "*企业编码": "credit_code", "*隐患名称": "title", "*隐患级别": "level",
                           "隐患来源": "source", "整改期限": "deadline"})


# -- 2. a railway construction headquarters ------------------------------------------------------------------------

WORK_POINTS = ["DK112+350 隧道进口", "DK118+020 特大桥3#墩", "DK121+600 路基段", "DK125+900 隧道出口",
               "DK130+150 制梁场", "DK133+700 拌和站"]
RAIL_PROBLEMS = {
    "1级": "隧道掌子面与二衬距离超过规定安全步距，仰拱开挖一次进尺超标",
    "2级": "高墩翻模施工作业平台防护栏杆缺失，安全网破损未更换",
    "3级": "钢筋加工棚配电箱未设置漏电保护器，电缆拖地",
    "4级": "现场消防器材配置不足，灭火器压力不足",
    "5级": "施工便道警示标志缺失",
}
GRADE_LEVEL = {"1级": "major", "2级": "general", "3级": "general", "4级": "general", "5级": "general"}


def long_work_point_list(length: int = 615) -> str:
    """A numbered list of the problems one inspection found at one work point, exactly `length` characters."""
    items = ["隧道初期支护钢架间距超过设计值，部分连接板螺栓缺失", "锁脚锚管数量不足且未与钢架焊接牢固",
             "二衬台车端头未设置防护栏杆，爬梯无护笼", "仰拱栈桥两侧未设置限速及限高标志",
             "洞内通风管破损漏风，掌子面风速不满足要求", "有毒有害气体检测仪未按规定标定，检测记录不全",
             "洞内照明线路未按规定架设，部分灯具无防护罩", "爆破器材临时存放点未设专人看守，领退记录不清",
             "逃生管道未跟进至掌子面，距离超过20米", "洞口值班室人员进出登记与门禁系统记录不一致",
             "作业人员未佩戴定位卡，洞内人员实时定位失效", "混凝土喷射手未佩戴防尘口罩及护目镜",
             "衬砌台车液压系统漏油，未设置接油盘", "洞内排水沟淤积，局部积水深度超过30厘米",
             "应急物资储备不足，缺少担架和急救药箱", "安全技术交底记录无作业人员签字",
             "特种作业人员持证上岗核查记录不全", "夜间施工照明不足，警示灯具损坏未更换",
             "弃渣场挡墙未按设计施工，排水设施不完善", "临时用电未执行三级配电两级保护",
             "洞口边仰坡截水沟未施作，坡面防护滞后", "超前地质预报未按设计频次开展，预报成果未及时反馈",
             "监控量测断面布设间距过大，拱顶下沉数据超预警值未上报", "施工通风机未设置备用电源",
             "钢筋焊接作业未设置防火隔离措施，焊工未持证", "隧道内运输车辆未安装倒车报警装置",
             "现场安全员配备不足，带班领导未按规定跟班作业", "应急演练记录不全，未针对涌水突泥开展演练"]
    parts: list[str] = []
    for item in items:  # whole items while they leave room for the closing one
        if len("；".join(parts + [f"（{len(parts) + 1}）{item}"])) > length - 40:
            break
        parts.append(f"（{len(parts) + 1}）{item}")
    opening = "；".join(parts) + f"；（{len(parts) + 1}）"
    room = length - len(opening) - len("等问题。")
    clauses = ["现场文明施工较差", "材料堆放杂乱", "标识标牌不全", "作业区域未封闭管理", "安全通道不畅", "防护用品发放台账缺失",
               "班前讲话记录流于形式", "值班记录不全", "消防器材过期", "警示灯损坏", "围挡破损", "扬尘治理不到位"]
    said = ""
    for clause in clauses:  # whole clauses, then one of the closing words that fills the rest exactly
        if len(said) + len(clause) + 1 <= room:
            said += ("，" if said else "") + clause
    fill = {0: "", 1: "、", 2: "，无", 3: "，较多", 4: "，较为普遍", 5: "，现场较普遍", 6: "，现场普遍存在", 7: "，整改不及时且多",
            8: "，各工班普遍存在此类", 9: "，各作业工班普遍存在此类"}[room - len(said)]
    return opening + said + fill + "等问题。"


def railway_register(folder: Path, *, seed: int = 23) -> Layout:
    """The headquarters' register of what its checks found at the contractors' work points."""
    rng = random.Random(seed)
    width = 13
    top = [["新建某某铁路建设指挥部安全隐患排查整治台账"] + [""] * (width - 1),
           ["检查单位：某某铁路建设指挥部安全质量部"] + [""] * 7 + ["统计日期：2026年3月31日"] + [""] * 4,
           ["序号", "检查日期", "检查场所", "事故隐患名称与内容", "隐患等级", "整改责任单位", "", "", "", "整改期限",
            "整改情况", "复查人", "备注"],
           [""] * width,
           ["", "", "", "", "", "建设", "设计", "施工", "监理", "", "", "", ""]]
    contractors = ["中铁某局集团有限公司某铁路站前一标项目经理部", "中铁某局集团有限公司某铁路站前二标项目经理部",
                   "中国铁建某局某铁路站前三标项目部"]
    grades = ["1级", "2级", "3级", "3级", "4级", "5级", "3级"]
    data, expected = [], []
    for i, grade in enumerate(grades):
        found = date(2026, 3, 2) + timedelta(days=7 * (i // 3))
        title = {3: long_work_point_list(), 6: "拌和站料仓顶部作业平台临边防护缺失，爬梯无护笼"}.get(i, RAIL_PROBLEMS[grade])
        builder = contractors[i % len(contractors)]
        deadline = found + timedelta(days=3 if grade in ("4级", "5级") else 20)
        done = deadline < date(2026, 3, 25)
        data.append([i + 1, f"{found.year}.{found.month}.{found.day}", WORK_POINTS[i % len(WORK_POINTS)], title,
                     grade, "某某铁路有限责任公司", "中铁某勘察设计院集团有限公司", builder, "某某铁路工程监理有限公司",
                     deadline, "已整改" if done else "整改中", "", ""])
        level = GRADE_LEVEL[grade]
        expected.append(Expected(
            row=len(top) + i + 1, title=title, level=level, grade=grade,
            state=state_of("verifying" if done else "rectifying", level), found=found.isoformat(),
            enterprise=builder, region="371700", source="inspection", deadline=deadline.isoformat(),
            location=WORK_POINTS[i % len(WORK_POINTS)]))
    sign_row = len(top) + len(grades) + 1
    tail = [["检查人：王建国  李明", "", "", "", "", "", "", "被检查单位负责人签字：", "", "", "", "", ""],
            ["注：隐患等级分为1级~5级，1级为重大隐患，2级为突出隐患，3级为一般隐患，4级、5级为轻微隐患；整改情况填写已整改或整改中。"]
            + [""] * (width - 1)]
    merges = [f"A1:{col(width)}1"] + [f"{c}3:{c}5" for c in "ABCDE"] + ["F3:I4"] + [f"{c}3:{c}5" for c in "JKLM"] + \
        [f"A{sign_row + 1}:{col(width)}{sign_row + 1}"]
    path = make_xlsx(folder / "铁路建设指挥部隐患台账.xlsx", top + data + tail, merges=tuple(merges), sheet="隐患台账")
    # The headquarters' checks cover the city's sections: `--set region=3717` is as good as 371700.
    return Layout(path=path, actor="zhang", sets={"region": "3717", "industry": "铁路", "source": "inspection"},
                  rows=expected, not_data=[sign_row, sign_row + 1],
                  headers={"检查日期": "found_at", "检查场所": "location", "事故隐患名称与内容": "title",
                           "隐患等级": "level", "建设": "owner_unit", "设计": "design_unit", "施工": "construction_unit",
                           "监理": "supervision_unit", "整改期限": "deadline", "整改情况": "result"})


# -- 3. a city system's major hazards -------------------------------------------------------------------------------

HEZE = {"牡丹区": "371702", "定陶区": "371703", "曹县": "371721", "单县": "371722", "巨野县": "371724",
        "郓城县": "371725", "东明县": "371728"}
CITY_PROBLEMS = [
    ("危险化学品", "液氨储罐区未设置可燃有毒气体泄漏检测报警装置"),
    ("工贸", "铝镁粉尘除尘系统未采取防止粉尘爆炸的措施"),
    ("城镇燃气", "燃气调压站安全阀超期未校验，放散管高度不足"),
    ("建筑施工", "深基坑未按专项施工方案设置支护结构"),
    ("危险化学品", "涉及重点监管危险化工工艺的装置未实现自动化控制"),
    ("工贸", "涉氨制冷速冻车间作业人员超过9人"),
    ("非煤矿山", "尾矿库排洪系统堵塞，未按设计进行回水"),
    ("消防", "人员密集场所疏散通道被占用，安全出口锁闭"),
]
SOURCES = [("执法检查", "inspection"), ("企业自查", "self_check"), ("举报", "whistleblower"), ("暗查暗访", "unannounced")]


def city_major_table(folder: Path, *, seed: int = 24) -> Layout:
    """The city's 重大事故隐患情况表 exported by its hazard system and kept by the office (li, the committee office,
    whose regions hold the whole province)."""
    rng = random.Random(seed)
    width = 15
    top = [["菏泽市重大事故隐患情况表"] + [""] * (width - 1),
           ["填报单位：菏泽市安全生产委员会办公室"] + [""] * 9 + ["统计时间：2026年1月1日至2026年3月31日"] + [""] * 4,
           ["序号", "所属区县", "企业名称", "统一社会信用代码", "行业领域", "隐患基本情况（简述）", "隐患来源", "登记时间",
            "整改责任人", "整改截止时间", "挂牌督办情况", "", "", "隐患状态", "销号时间"],
           [""] * 10 + ["是否挂牌督办", "挂牌督办级别", "挂牌督办文号"] + ["", ""]]
    states = ["整改中", "整改中", "已整改", "已销号", "整改中", "已整改", "已销号", "整改中"]
    stage = {"整改中": "rectifying", "已整改": "verifying", "已销号": "closed"}
    data, expected = [], []
    for i, (industry, title) in enumerate(CITY_PROBLEMS):
        county = list(HEZE)[i % len(HEZE)]
        company = f"菏泽{['鑫源', '华泰', '金港', '宏达', '瑞丰', '广源', '恒通', '鲁西'][i]}" + \
            {"危险化学品": "化工有限公司", "工贸": "金属制品有限公司", "城镇燃气": "燃气有限公司",
             "建筑施工": "建筑工程有限公司", "非煤矿山": "矿业有限公司", "消防": "商贸有限公司"}[industry]
        code = credit_code(rng, HEZE[county])
        registered = datetime(2026, 1, 6, 8, 30) + timedelta(days=rng.randrange(0, 50), minutes=rng.randrange(0, 600),
                                                             seconds=rng.randrange(0, 60))
        deadline = registered.date() + timedelta(days=rng.choice([60, 90, 120]))
        posted = i in (0, 3, 4)
        authority = ("市级", "city") if i != 4 else ("县级", "county")
        number = f"菏安委办〔2026〕{i + 3}号" if authority[1] == "city" else f"{county[:2]}安委办〔2026〕{i}号"
        state = states[i]
        written_off = registered.date() + timedelta(days=rng.randrange(20, 30)) if state == "已销号" else ""
        source_word, source = SOURCES[i % len(SOURCES)]
        person = rng.choice(PEOPLE)
        data.append([i + 1, county, company, code, industry, title, source_word, registered.strftime("%Y-%m-%d %H:%M:%S"),
                     person, deadline.strftime("%Y/%m/%d"), "是" if posted else "否",
                     authority[0] if posted else "", number if posted else "", state,
                     f"{written_off:%Y-%m-%d}" if written_off else ""])
        expected.append(Expected(
            row=len(top) + i + 1, title=title, level="major", state=stage[state], found=registered.date().isoformat(),
            enterprise=company, credit_code=code, region=HEZE[county], source=source, deadline=deadline.isoformat(),
            responsible_person=person, posted=(authority[1], number) if posted else None))
    tail = [["填报人：孙海涛", "", "", "审核人：周军", "", "", "", "", "", "", "填报日期：2026年4月1日", "", "", "", ""]]
    merges = [f"A1:{col(width)}1"] + [f"{c}3:{c}4" for c in "ABCDEFGHIJ"] + ["K3:M3", "N3:N4", "O3:O4"]
    path = make_xlsx(folder / "重大事故隐患情况表.xlsx", top + data + tail, merges=tuple(merges), sheet="Sheet1")
    # The table holds only major hazards: its title says so, its columns do not.
    return Layout(path=path, actor="li", sets={"level": "major"}, rows=expected, not_data=[len(top) + len(data) + 1],
                  headers={"所属区县": "region", "企业名称": "enterprise", "统一社会信用代码": "credit_code",
                           "行业领域": "industry", "隐患基本情况（简述）": "title", "隐患来源": "source",
                           "登记时间": "found_at", "整改责任人": "responsible_person", "整改截止时间": "deadline",
                           "隐患状态": "state", "销号时间": "closed_at"},
                  misread={"挂牌督办级别": "level"})  # the posting authority's level, not the hazard's


# -- 4. a chemical park's platform ------------------------------------------------------------------------------------

PARK_COMPANIES = ["山东某某石化有限公司", "某某新材料科技有限公司", "某某精细化工有限公司", "某某化学工业有限公司"]
PARK_PROBLEMS = [
    "罐区防火堤内积水未及时排放", "装置区可燃气体检测报警器未定期标定", "反应釜安全阀铅封缺失",
    "动火作业票未按规定进行气体分析", "仓库危险化学品混存，禁忌物料未隔离", "泵房静电接地线断开",
    "控制室未设置防爆门", "DCS报警值设置与操作规程不一致", "装卸栈台鹤管无静电接地报警", "消防泡沫站泡沫液过期",
    "受限空间作业未设监护人", "中控室人员未持证上岗",
]
CHECK_KINDS = ["日常排查", "综合性排查", "专业性排查", "季节性排查", "重点时段及节假日前排查", "事故类比排查",
               "复产复工前排查", "外聘专家诊断式排查"]
PARK_STATES = {"审核中": "reported", "整改中": "rectifying", "待验收": "verifying", "已验收": "verified", "已关闭": "closed"}


def park_dual_prevention(folder: Path, *, seed: int = 25) -> Layout:
    """The park platform's 双重预防 export of hazards its enterprises found in their own checks: a system export,
    one header row, times to the second, 治理类型 即查即改 (no deadline given: fixed on the spot) or 限期整改."""
    rng = random.Random(seed)
    header = ["序号", "企业名称", "统一社会信用代码", "隐患编号", "事故隐患描述(简题)", "隐患等级", "排查类型", "排查时间",
              "隐患部位", "治理类型", "隐患治理期限", "整改责任人", "整治说明", "隐患状态", "验收人", "验收时间"]
    top = [["某某化工园区双重预防机制信息平台 隐患排查治理记录"] + [""] * (len(header) - 1),
           ["导出时间：2026-04-01 08:30:12", "", "", "", "", "", "", "", "导出人：园区安监局"] + [""] * 7, header]
    codes = {name: credit_code(rng, "371721") for name in PARK_COMPANIES}
    words = ["审核中", "整改中", "待验收", "已验收", "已关闭", "整改中", "已关闭", "待验收", "已验收", "审核中", "已关闭",
             "整改中"]
    data, expected = [], []
    for i, title in enumerate(PARK_PROBLEMS):
        company = PARK_COMPANIES[i % len(PARK_COMPANIES)]
        found = datetime(2026, 2, 3, 9, 0) + timedelta(days=rng.randrange(0, 50), minutes=rng.randrange(0, 480))
        word = words[i]
        level = "major" if i in (2, 7) else "general"
        on_spot = level == "general" and word == "已关闭"
        deadline = found.date() if on_spot else found.date() + timedelta(days=rng.choice([7, 15, 30]))
        person = rng.choice(PEOPLE)
        accepted = found + timedelta(days=(0 if on_spot else rng.randrange(3, 7)), hours=2) \
            if word in ("已验收", "已关闭") else None
        data.append([i + 1, company, codes[company], f"YH{found:%Y%m%d}{i + 1:04d}", title,
                     "重大隐患" if level == "major" else "一般隐患", CHECK_KINDS[i % len(CHECK_KINDS)],
                     found.strftime("%Y-%m-%d %H:%M:%S"), rng.choice(["罐区", "装置区", "仓库", "装卸区", "中控室"]),
                     "即查即改" if on_spot else "限期整改", "" if on_spot else deadline.isoformat(), person,
                     "现场已整改" if on_spot else "制定整改方案，限期完成", word, rng.choice(PEOPLE) if accepted else "",
                     accepted.strftime("%Y-%m-%d %H:%M:%S") if accepted else ""])
        expected.append(Expected(
            row=len(top) + i + 1, title=title, level=level, state=state_of(PARK_STATES[word], level),
            found=found.date().isoformat(), enterprise=company, credit_code=codes[company], region="371721",
            source="self_check", deadline=deadline.isoformat(), responsible_person=person))
    path = make_xlsx(folder / "隐患排查治理记录.xlsx", top + data, merges=(f"A1:{col(len(header))}1",), sheet="隐患列表")
    return Layout(path=path, actor="zhang", sets={"region": "371721", "industry": "危险化学品"}, rows=expected,
                  not_data=[],
                  headers={"事故隐患描述(简题)": "title", "排查类型": "source", "排查时间": "found_at",
                           "隐患治理期限": "deadline", "整治说明": "measures", "隐患状态": "state",
                           "统一社会信用代码": "credit_code", "企业名称": "enterprise"})


def park_enforcement(folder: Path, *, seed: int = 26) -> Layout:
    """The park's 执法检查 export: what the park's enforcement checks found, as CSV the platform writes (UTF-8 with a
    BOM), 检查类型 专项检查 or 日常检查, 责令整改期限, 整改情况 未整改 / 已整改."""
    rng = random.Random(seed)
    header = ["序号", "检查时间", "被检查单位", "检查场所", "隐患问题描述", "隐患级别", "违反条款", "责令整改期限", "检查类型",
              "检查人员", "整改情况", "复查时间"]
    lines = ["某某化工园区执法检查发现隐患清单", ",".join(header)]
    checks = [("专项检查", "special_campaign"), ("日常检查", "inspection")]
    expected = []
    for i in range(6):
        company = PARK_COMPANIES[i % len(PARK_COMPANIES)]
        found = date(2026, 3, 3) + timedelta(days=2 * i)
        title = PARK_PROBLEMS[(i * 5) % len(PARK_PROBLEMS)]
        deadline = found + timedelta(days=15)
        done = i % 3 == 0
        word, source = checks[i % 2]
        level = "major" if i == 1 else "general"
        lines.append(",".join(str(v) for v in [
            i + 1, f"{found.year}年{found.month}月{found.day}日", company, rng.choice(["罐区", "装置区", "仓库"]), title,
            "重大" if level == "major" else "一般", "《危险化学品企业安全风险隐患排查治理导则》", deadline.isoformat(), word,
            "王建国、李明", "已整改" if done else "未整改", (deadline - timedelta(days=2)).isoformat() if done else ""]))
        # 已整改 with a 复查时间 whose result did not fail: the check passed.
        expected.append(Expected(
            row=i + 3, title=title, level=level, found=found.isoformat(), enterprise=company, region="371721",
            source=source, deadline=deadline.isoformat(),
            state=state_of("verified" if done else "reported", level)))
    lines.append("检查人员（签字）：王建国  李明,,,,被检查单位负责人（签字）：,,,,,,,")
    path = folder / "执法检查隐患清单.csv"
    path.write_bytes(("\n".join(lines) + "\n").encode("utf-8-sig"))
    return Layout(path=path, actor="zhang", sets={"region": "371721", "industry": "危险化学品"}, rows=expected,
                  not_data=[len(lines)],
                  headers={"检查时间": "found_at", "被检查单位": "enterprise", "检查场所": "location",
                           "隐患问题描述": "title", "隐患级别": "level", "违反条款": "criterion",
                           "责令整改期限": "deadline", "检查类型": "source", "检查人员": "inspector"})


LAYOUTS = {"power_plant_ledger": power_plant_ledger, "power_plant_template": power_plant_template,
           "railway_register": railway_register, "city_major_table": city_major_table,
           "park_dual_prevention": park_dual_prevention, "park_enforcement": park_enforcement}


def col(n: int) -> str:
    """The Excel column letter of the n-th column (1 = A)."""
    name = ""
    while n:
        n, rest = divmod(n - 1, 26)
        name = chr(65 + rest) + name
    return name
