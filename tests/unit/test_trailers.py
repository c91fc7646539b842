from generator import trailers


def test_message_round_trip() -> None:
    change = trailers.Change("render: 2 units", "render", ("a", "b"), ("a/*", "b/x"), "because\nreasons")
    text = trailers.message(change, body="details")
    assert text.splitlines()[0] == "render: 2 units"
    parsed = trailers.parse(text)
    assert parsed == trailers.Change("render: 2 units", "render", ("a", "b"), ("a/*", "b/x"),
                                     "because reasons")


def test_not_a_gitops_commit() -> None:
    assert trailers.parse("fix typo\n\nSigned-off-by: x <y@z>\n") is None
