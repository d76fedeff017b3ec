"""What the safety office publishes: figures, the four lists, bulletins, rankings and campaigns (pure half).

    figures.py     rates rounded half up, the stats row, totals, change since the previous period, regrouping
    definition.py  report definitions (rounding, the four lists' rules, bulletin layout); default.yaml
    conditions.py  the small vocabulary that puts a case on a list
    ranking.py     weights files and the weighted ranking
    campaign.py    campaign files (专项整治); targets.py evaluates their targets per stage
    bulletin.py    a bulletin document -> page; lists.py the four lists and the stats table -> page
    blocks.py, output.py, chart.py   pages as Markdown, self-contained HTML (inline SVG chart) and xlsx
    reading.py     bounded, line-aware reading of the YAML files above

Nothing here touches the database or the clock: the store side computes the counts and passes them in.
"""
