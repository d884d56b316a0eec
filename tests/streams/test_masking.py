"""One masking function for personal data."""

from __future__ import annotations

import copy

from stdnum.cn import ric

from streams.masking import mask_name, mask_personal, mask_resident_id

RID = "11010519491231002X"  # a valid resident ID number (check digit X)


def test_the_sample_id_is_valid_and_a_near_miss_is_not() -> None:
    assert ric.is_valid(RID)
    assert not ric.is_valid(RID[:-1] + "1")


def test_names_keep_their_first_character() -> None:
    assert mask_name("王伟") == "王*"
    assert mask_name("欧阳娜娜") == "欧***"
    assert mask_name("Li") == "L*"
    assert mask_name("李") == "*"
    assert mask_name("") == ""


def test_resident_ids_keep_region_and_last_four() -> None:
    assert mask_resident_id(RID) == "110105********002X"


def test_mask_personal_masks_profile_alert_evidence_and_any_valid_id() -> None:
    document = {
        "uscc": "91330110MA2B3C4D5E",
        "name": "杭州某某科技有限公司",
        "legal_representative": "张三丰",
        "shareholders": [{"name": "某某投资", "id_number": RID}, {"note": f"{RID}"}],
        "alerts": [
            {"alert_type": "legal_rep_churn", "evidence": {"current": "李四", "changes": 3}},
            {"alert_type": "layoff", "evidence": {"current": 10}},
        ],
        "free_text": RID,
        "not_an_id": RID[:-1] + "1",
    }
    before = copy.deepcopy(document)
    masked = mask_personal(document)
    assert document == before  # a copy; the argument is untouched
    assert masked["legal_representative"] == "张**"
    assert masked["name"] == document["name"] and masked["uscc"] == document["uscc"]
    assert masked["shareholders"][0] == {"name": "某某投资", "id_number": "110105********002X"}
    assert masked["shareholders"][1]["note"] == "110105********002X"
    assert masked["alerts"][0]["evidence"] == {"current": "李*", "changes": 3}
    assert masked["alerts"][1]["evidence"] == {"current": 10}  # other alert types keep "current"
    assert masked["free_text"] == "110105********002X"
    assert masked["not_an_id"] == document["not_an_id"]
    assert mask_personal({"legal_representative": None}) == {"legal_representative": None}


def test_provenance_of_personal_fields_and_sole_proprietor_ids_are_masked() -> None:
    state = {"provenance": {
        "legal_representative": {"set_by": "amr", "claims": {"amr": ["王伟", "r0", "2024-01-05"],
                                                             "tax": ["李四", "v1", "2024-03-01"]}},
        "name": {"set_by": "amr", "claims": {"amr": ["杭州甲科技有限公司", "r0", "2024-01-05"]}},
    }, "identities": [{"identifier": "taxpayer_id:33010619900101002601"}]}  # fmt: skip
    masked = mask_personal(state)
    claims = masked["provenance"]["legal_representative"]["claims"]
    assert claims == {"amr": ["王*", "r0", "2024-01-05"], "tax": ["李*", "v1", "2024-03-01"]}
    assert masked["provenance"]["name"] == state["provenance"]["name"]
    assert masked["identities"][0]["identifier"] == "taxpayer_id:330106********002601"
