"""One phone-number form for the webhook and the operators' commands."""

from __future__ import annotations

import pytest

from listener.channel.form import TwilioMessageForm
from listener.operators.privacy import NumberError, normalise_number


@pytest.mark.parametrize(
    "written",
    ["whatsapp:+15550001111", "WhatsApp:+15550001111", "+1 (555) 000-1111", "15550001111", "sms:+1555 000 1111"],
)
def test_every_way_of_writing_a_number_gives_the_stored_form(written):
    assert normalise_number(written) == "+15550001111"
    form = TwilioMessageForm.model_validate({"MessageSid": "SM" + "1" * 32, "From": written, "Body": "hi"})
    assert form.sender == "+15550001111", "the webhook stores what `listener block` and `forget` look up"


@pytest.mark.parametrize("written", ["", "whatsapp:", "+0123456789", "call me", "+1555"])
def test_what_is_not_a_number_is_refused(written):
    with pytest.raises(NumberError):
        normalise_number(written)
