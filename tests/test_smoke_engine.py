"""A first end-to-end check of the engine on SQLite (the conversation scripts go further)."""


def test_onboarding_reaches_listening(chat):
    assert chat.send("hi, I'm at CLIMATE24")[1].startswith("What's your name")
    chat.send("Alex")
    chat.send("34")
    chat.send("woman")
    replies = chat.send("Bristol")
    assert chat.state == "listening"
    assert "Alex" in replies[0]
    profile = chat.store.get_profile("CLIMATE24", chat.participant)
    assert (profile["name"], profile["age"], profile["gender"], profile["region"]) == ("Alex", 34, "female", "Bristol")
