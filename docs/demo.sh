#!/usr/bin/env bash
# The demo scenario, on the embedded SQLite database (./demo.db): a county safety office's spring.
# Every line is a command a supervisor could type; --now back-fills the spring's dates (all in the past: a
# time later than the real one is refused outside a database made with `hazard init --drill`).
#
# On PostgreSQL: HAZARD_DB=postgresql+psycopg://postgres@127.0.0.1:5432/hazard_demo bash docs/demo.sh
# Each run starts from a new database, so the demo can be run again: a database whose name has "demo" in it
# is deleted (SQLite) or dropped and created again (PostgreSQL, with psql); any other is used as it is, and
# must be empty. The evidence files go to HAZARD_FILES: beside demo.db on SQLite (demo.db.files/), a folder under
# $TMPDIR on PostgreSQL unless set.
set -euo pipefail
cd "$(dirname "$0")/.."
export HAZARD_DB="${HAZARD_DB:-sqlite:///demo.db}"
name="${HAZARD_DB##*/}"; name="${name%%\?*}"            # the database's name: demo.db, hazard_demo
server="${HAZARD_DB%/*}"; server="${server/+psycopg/}"   # postgresql://postgres@127.0.0.1:5432, as psql reads it
case "$name:$HAZARD_DB" in
  *demo*:sqlite:*)     rm -rf "${HAZARD_DB#sqlite:///}"{,-wal,-shm,.files} ;;
  *demo*:postgresql*)  PGOPTIONS="-c client_min_messages=warning" psql -q "$server/postgres" \
                         -c "DROP DATABASE IF EXISTS \"$name\"" -c "CREATE DATABASE \"$name\"" ;;
esac
case "$HAZARD_DB" in postgresql*) export HAZARD_FILES="${HAZARD_FILES:-${TMPDIR:-/tmp}/$name.files}" ;; esac
say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
# The city's department records the spring's paper records at their own dates: a declared back-fill, judged at those
# dates (an enterprise's own step dated months before it is recorded would be judged at its recording instead).
PAPER=(--backfill "春季纸质台账补录")

say "Set up: tables, built-in workflows, and who may act where"
hazard init --admin li --region 37                        # provincial safety committee office: the administrator
hazard --actor li user add wang  --role inspector  --region 371721   # county inspector (曹县)
hazard --actor li user add ent   --role enterprise --region 371721   # the enterprise's safety manager
hazard --actor li user add zhang --role supervisor --region 371700   # city emergency bureau (菏泽市)
hazard --actor li user add liu   --role supervisor --region 371700
hazard --actor zhang user add sup2 --role supervisor --region 371700 \
  || echo "(refused as expected: only the committee office adds users)"

say "March 2 and 3: four hazards reported"
A=$(hazard --actor wang --now 2026-03-02T09:00 case report --level major --source inspection \
      --title "液氨储罐区未设置可燃气体泄漏报警装置" --enterprise "曹县某化工有限公司" --region 371721 --industry 危险化学品 \
      --set criterion="安监总管三〔2017〕121号 第十二条")
B=$(hazard --actor wang --now 2026-03-02T10:30 case report --level major --source unannounced \
      --title "粉尘涉爆除尘系统未设置泄爆装置" --enterprise "曹县某木业有限公司" --region 371721 --industry 工贸)
C=$(hazard --actor wang --now 2026-03-02T11:00 case report --level general --source inspection \
      --title "配电箱未上锁" --enterprise "曹县某木业有限公司" --region 371721 --industry 工贸)
D=$(hazard --actor ent --now 2026-03-03T08:00 case report --level major --source self_check \
      --title "有限空间作业未执行先通风、再检测、后作业" --enterprise "曹县某食品有限公司" --region 371721 --industry 工贸)
echo "reported: $A $B $C $D"

say "The general hazard is fixed on the spot and checked by the city's supervisor"
hazard --actor ent  --now 2026-03-02T11:20 case advance "$C" fix --set measures="配电箱加锁并张贴警示标识"
hazard --actor zhang "${PAPER[@]}" --now 2026-03-02T15:00 case advance "$C" verify --set opinion="现场复查已整改"

say "Major hazards get the five implementations (五落实) before rectification starts"
hazard --actor ent --now 2026-03-03T09:00 case advance "$A" assign \
  --set responsible_unit="曹县某化工有限公司" --set responsible_person="王五" \
  --set measures="储罐区加装可燃气体报警并联锁" --set funds=15万 --set deadline=2026-04-30 \
  --set emergency_plan="液氨泄漏专项应急预案" || echo "(refused as expected: an enterprise may not assign)"
hazard --actor zhang "${PAPER[@]}" --now 2026-03-03T09:00 case advance "$A" assign \
  --set responsible_unit="曹县某化工有限公司" --set responsible_person="王五" \
  --set measures="储罐区加装可燃气体报警并联锁" --set funds=15万 --set deadline=2026-04-30 \
  --set emergency_plan="液氨泄漏专项应急预案"
hazard --actor zhang "${PAPER[@]}" --now 2026-03-03T10:00 case advance "$B" assign \
  --set responsible_unit="曹县某木业有限公司" --set responsible_person="赵六" \
  --set measures="除尘器加装泄爆片、隔爆阀" --set funds=8万 --set deadline=2026-04-15 \
  --set emergency_plan="粉尘爆炸专项应急预案"
hazard --actor zhang "${PAPER[@]}" --now 2026-03-04T10:00 case advance "$D" assign \
  --set responsible_unit="曹县某食品有限公司" --set responsible_person="孙七" \
  --set measures="配置通风检测设备，制定作业审批" --set funds=3万 --set deadline=2026-03-31 \
  --set emergency_plan="有限空间作业应急预案"
# Each assign issued a rectification order (责令限期整改指令书), numbered per county and year, its text sealed:
hazard --actor zhang --now 2026-03-04T10:05 document list

say "Rectification; the first verification of A fails, the second passes; A and B are written off (销号, closed)"
for X in "$A" "$B" "$D"; do hazard --actor ent --now 2026-03-05T09:00 case advance "$X" start; done
# A major hazard is submitted on evidence: a rectification photo (整改照片) or acceptance material, attached first.
hazard --actor ent --now 2026-04-10T08:30 case attach "$A" docs/examples/rectified.png --kind rectified --note 报警装置已安装
# The enterprise's written application for acceptance, entered by the department from paper:
hazard --actor zhang "${PAPER[@]}" --now 2026-04-10T09:00 case advance "$A" submit --set report_note="报警装置已安装（企业书面申请）"
hazard --actor ent --now 2026-04-11T09:00 case advance "$A" verify --set opinion="同意" \
  || echo "(refused as expected: an enterprise may not verify its own rectification)"
hazard --actor liu "${PAPER[@]}" --now 2026-04-12T09:00 case advance "$A" reject --set opinion="报警未与紧急切断联锁"
# zhang checks the interlock on site and records the second submission himself...
hazard --actor zhang "${PAPER[@]}" --now 2026-04-20T09:00 case advance "$A" submit --set report_note="已实现联锁（现场复核后录入）"
# ...so he may not also sign it off (谁检查、谁签名、谁负责: separation of duties); liu does.
hazard --actor zhang "${PAPER[@]}" --now 2026-04-21T09:00 case advance "$A" verify --set opinion="同意" \
  || echo "(refused as expected: whoever submitted may not verify)"
hazard --actor liu "${PAPER[@]}" --now 2026-04-22T09:00 case advance "$A" verify --set opinion="验收合格"
hazard --actor li "${PAPER[@]}" --now 2026-04-23T09:00 case advance "$A" close --set closing_note="准予销号"
hazard --actor ent --now 2026-04-01T08:30 case attach "$B" docs/examples/rectified.png --kind rectified
hazard --actor zhang "${PAPER[@]}" --now 2026-04-01T09:00 case advance "$B" submit
hazard --actor liu "${PAPER[@]}" --now 2026-04-03T09:00 case advance "$B" verify --set opinion="泄爆装置已安装，验收合格"
hazard --actor li "${PAPER[@]}" --now 2026-04-03T16:00 case advance "$B" close

say "D is never finished: the scheduler climbs the ladder; sanctions wait for a named person's decision"
for T in 2026-03-29T00:05 2026-04-01T09:00 2026-04-08T09:00; do
  echo "-- sweep at $T"
  hazard --now "$T" escalate
done
hazard --actor zhang --now 2026-04-08T10:00 case decide "$D" interview approve --reason "逾期一周未整改" \
  || echo "(refused as expected: only the committee office decides an interview)"
hazard --actor li --now 2026-04-08T10:00 case decide "$D" interview approve --reason "逾期一周未整改，约谈企业主要负责人"
for T in 2026-04-16T09:00 2026-05-01T09:00; do
  echo "-- sweep at $T"
  hazard --now "$T" escalate
done
hazard --actor li --now 2026-05-01T10:00 case decide "$D" posted-supervision approve --reason "市级挂牌督办"
hazard --actor zhang --now 2026-05-01T10:00 case decide "$D" suspension approve --reason "逾期一个月，责令停产整顿"
hazard --actor li --now 2026-05-01T10:05 case decide "$D" exposure decline --reason "已责令停产，暂不公开曝光"

say "The register on May 1, the overdue case and its rungs and linked cases"
hazard --now 2026-05-01T09:00 case list
hazard --now 2026-05-01T09:00 case list --overdue
hazard --now 2026-05-01T09:00 case show "$D"
hazard --now 2026-05-01T09:00 case history "$A"

say "The county's own ledger (台账) comes in: a dry run, then the import (each row keeps the sheet's dates)"
hazard --actor zhang --now 2026-05-01T10:00 import docs/example-ledger.xlsx --set region=371721 --dry-run | head -19
hazard --actor zhang --now 2026-05-01T10:00 import docs/example-ledger.xlsx --set region=371721

say "What the office publishes: figures by county (those that reported nothing too), March's bulletin, the anchor"
hazard --now 2026-05-01T10:00 report stats --by county --region 3717
hazard --now 2026-05-01T10:00 report bulletin --period month --date 2026-03-31 --region 3717 --format md | sed -n '1,/^## 三、/p'  # up to the counties
hazard --now 2026-05-01T10:00 audit anchor
hazard --now 2026-05-01T10:00 export "${TMPDIR:-/tmp}/demo-register.xlsx" --region 3717

say "The workflow as a diagram (paste into any Mermaid viewer)"
hazard workflow draw major-hazard
