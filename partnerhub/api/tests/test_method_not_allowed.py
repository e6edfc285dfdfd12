def test_wrong_method_answers_the_json_error_shape_with_allow(client, personas):
    response = client.put("/api/v1/fees/quote")
    assert response.status_code == 405
    assert response.json()["error"]["code"] == "method_not_allowed"
    assert "POST" in response["Allow"]
