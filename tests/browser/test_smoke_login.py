"""A person signs in with a real browser and sees the home page in Chinese."""
from tests import factories


def test_sign_in_shows_home(page, login, make):
    make.user("alice", roles=("pm",), display_name="张三")
    login("alice", factories.PASSWORD)
    assert page.locator("h1").inner_text().find("张三") >= 0
    errors = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.reload()
    assert not [e for e in errors if "Content Security Policy" in e]
