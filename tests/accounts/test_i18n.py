"""English by default, Spanish available: the switch in the top bar and the browser's language both work."""



def test_english_by_default(abbie_client):
    page = abbie_client.get("/companies/466158/").content.decode()
    assert "My imports" in page
    assert "COMPANY DETAILS" in page


def test_spanish_from_the_browser_language(abbie_client):
    page = abbie_client.get("/companies/466158/", HTTP_ACCEPT_LANGUAGE="es").content.decode()
    assert "Mis importaciones" in page
    assert "My imports" not in page


def test_language_switch_keeps_the_page(abbie_client):
    response = abbie_client.post("/i18n/setlang/", {"language": "es", "next": "/companies/466158/"})
    assert response.status_code == 302
    assert response["Location"] == "/companies/466158/"
    assert "Mis importaciones" in abbie_client.get("/companies/466158/").content.decode()
