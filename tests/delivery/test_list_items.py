

def test_why_not_names_the_same_titled_resource_listed_instead(core) -> None:
    from recommender.delivery.why_not import LISTED, SAME_TITLE

    view, request = core.learner("zh"), ListRequest(k=3, now=NOW)
    assert core.why_not(view, request, "r0").verdict == SAME_TITLE  # r2 has its title
    listed = core.why_not(view, request, "r7")
    assert (listed.verdict, listed.rank) == (LISTED, 2)  # second once titles are counted once
    every = core.why_not(view, ListRequest(k=3, now=NOW, one_per_title=False), "r0")
    assert (every.verdict, every.rank) == (LISTED, 2)
