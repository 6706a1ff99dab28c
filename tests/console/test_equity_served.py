"""The console's equity page shows what the API served per learner group, from the counters."""

from __future__ import annotations

from console_world import log_in
from recommender.serving.exposure import equity_figures
from serving_world import KEY


def test_served_lists_appear_on_the_equity_page(console_client) -> None:
    log_in(console_client)
    for learner_id in ("d1", "d2", "f1"):
        assert console_client.get(f"/v1/learners/{learner_id}/recommendations?k=5",
                                  headers=KEY).status_code == 200
    page = console_client.get("/console/equity?lang=en").text
    section = page.split('id="served"')[1].split("</section>")[0]
    counted = equity_figures().groups.set_index("learner_group")["lists"]
    assert counted["retiree"] >= 2 and counted["rural_resident"] >= 1
    # the page's row for each group holds the same count as the counters
    rows = section.split('id="served-groups"')[1].split("</table>")[0]
    for group, shown in (("retiree", "retiree"), ("rural_resident", "rural resident")):
        row = next(r for r in rows.split("<tr") if f"<td>{shown}</td>" in r)
        assert f'<td class="num">{counted[group]}</td>' in row
    zh = console_client.get("/console/equity?lang=zh").text
    assert "已推送的列表" in zh
