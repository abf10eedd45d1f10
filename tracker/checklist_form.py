"""The pre-visit checklist form, built for one appointment type's items: a yes/no per item and,
for a driver item, the driver's name and phone. Staff (by phone) and the patient (from the visit
link) answer on the same form; the answers go to services/checklist.py."""

from __future__ import annotations

import re

from flask_wtf import FlaskForm
from wtforms import RadioField, StringField
from wtforms.validators import Length, Optional

from .models.checklist import DRIVER_NAME_MAX, DRIVER_PHONE_MAX
from .services.checklist import Answer, answer_field
from .validators import NoControlCharacters

CHOICES = {"yes": "Yes", "no": "No"}
ANSWER_KEY = re.compile(r"answer_(\d{1,9})")


class ChecklistFormBase(FlaskForm):
    """The fields are added per item by `checklist_form`."""

    items: list = []

    def validate(self, extra_validators=None) -> bool:
        """The fields' checks, then each answer given must be yes or no (blank is unanswered)."""
        valid = super().validate(extra_validators)
        for item in self.items:
            field = self[answer_field(item.id)]
            if field.data not in (None, "", *CHOICES):
                field.errors = [*field.errors, "Choose yes or no."]
                valid = False
        return valid

    def answers(self, posted=None) -> dict[int, Answer]:
        """Item id -> Answer for each item answered; an answer named for an item this form does
        not ask is passed on too, so the service refuses it rather than it being dropped."""
        given: dict[int, Answer] = {}
        for item in self.items:
            value = self[answer_field(item.id)].data
            if value not in CHOICES:
                continue
            name = self[answer_field(item.id, "driver_name")].data if item.asks_driver else ""
            phone = self[answer_field(item.id, "driver_phone")].data if item.asks_driver else ""
            given[item.id] = Answer(value == "yes", name or "", phone or "")
        known = {item.id for item in self.items}
        for key, value in (posted or {}).items():
            match = ANSWER_KEY.fullmatch(key)
            if match and int(match.group(1)) not in known:
                given[int(match.group(1))] = Answer(value == "yes")
        return given


def checklist_form(items, stored=None, formdata=None, *, from_request: bool = False):
    """A form for these items, showing the stored answers (item id -> ChecklistAnswer)."""

    class ChecklistForm(ChecklistFormBase):
        pass

    ChecklistForm.items = list(items)
    data = {}
    for item in items:
        setattr(
            ChecklistForm,
            answer_field(item.id),
            RadioField(
                item.prompt, choices=CHOICES, validate_choice=False, validators=[Optional()]
            ),
        )
        if item.asks_driver:
            setattr(
                ChecklistForm,
                answer_field(item.id, "driver_name"),
                StringField(
                    "Their name",
                    validators=[Optional(), Length(max=DRIVER_NAME_MAX), NoControlCharacters()],
                ),
            )
            setattr(
                ChecklistForm,
                answer_field(item.id, "driver_phone"),
                StringField(
                    "Their phone",
                    validators=[Optional(), Length(max=DRIVER_PHONE_MAX), NoControlCharacters()],
                ),
            )
        row = (stored or {}).get(item.id)
        if row is not None:
            data[answer_field(item.id)] = "yes" if row.answer else "no"
            if item.asks_driver:
                data[answer_field(item.id, "driver_name")] = row.driver_name or ""
                data[answer_field(item.id, "driver_phone")] = row.driver_phone or ""
    if from_request:
        return ChecklistForm()
    return ChecklistForm(formdata=formdata, data=data)
