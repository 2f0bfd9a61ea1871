def test_dbg(browser, live_server, make, db):
    inv, token = make.invitation()
    db.session.commit()
    page = browser.new_page(base_url=live_server)
    page.goto(f"/s/{token}")
    held = []
    page.route("**/survey/submit", lambda route: held.append(route))
    page.evaluate("document.querySelector('button.survey-submit').click()")
    page.wait_for_timeout(500)
    print("held", len(held))
    print(page.evaluate("[document.getElementById('survey-form').getAttribute('data-submitting'), document.querySelector('button.survey-submit').disabled, location.href]"))
    for r in held: r.abort()
    page.close()
