"""Identifier and code validators: USCC (GB 32100-2015), district (GB/T 2260), industry (GB/T 4754)."""

from __future__ import annotations

import functools
import re

from stdnum.cn import uscc as _uscc
from stdnum.exceptions import ValidationError

_DISTRICT = re.compile(r"^[1-8]\d{5}$")
# GB/T 4754-2017: a section letter A–T, optionally followed by a 2-digit division,
# a 3-digit group or a 4-digit class (e.g. "C", "C35", "C356", "C3562").
_INDUSTRY = re.compile(r"^[A-T](\d{2}|\d{3}|\d{4})?$")

INDUSTRY_SECTIONS: dict[str, str] = {
    "A": "农、林、牧、渔业",
    "B": "采矿业",
    "C": "制造业",
    "D": "电力、热力、燃气及水生产和供应业",
    "E": "建筑业",
    "F": "批发和零售业",
    "G": "交通运输、仓储和邮政业",
    "H": "住宿和餐饮业",
    "I": "信息传输、软件和信息技术服务业",
    "J": "金融业",
    "K": "房地产业",
    "L": "租赁和商务服务业",
    "M": "科学研究和技术服务业",
    "N": "水利、环境和公共设施管理业",
    "O": "居民服务、修理和其他服务业",
    "P": "教育",
    "Q": "卫生和社会工作",
    "R": "文化、体育和娱乐业",
    "S": "公共管理、社会保障和社会组织",
    "T": "国际组织",
}


def check_uscc(value: str) -> str:
    """Return the canonical USCC or raise ``ValueError`` naming what is wrong."""
    if not isinstance(value, str):
        raise ValueError("USCC must be a string")
    return _check_uscc(value)


@functools.lru_cache(maxsize=200_000)
def _check_uscc(value: str) -> str:
    # A park has a bounded set of enterprises, each sending many events: remember the answer.
    try:
        return str(_uscc.validate(value))
    except ValidationError as exc:
        raise ValueError(f"invalid USCC {value!r}: {exc}") from None


def uscc_check_digit(first17: str) -> str:
    """The GB 32100-2015 check character for the first 17 characters of a USCC."""
    return str(_uscc.calc_check_digit(first17))


def check_district(value: str) -> str:
    if not _DISTRICT.match(value):
        raise ValueError(f"district code {value!r} is not a 6-digit GB/T 2260 code")
    return value


def check_industry(value: str) -> str:
    if not _INDUSTRY.match(value):
        raise ValueError(
            f"industry code {value!r} is not GB/T 4754 (section letter A–T, optional 2–4 digits)"
        )
    return value


def industry_section(code: str) -> str:
    return code[:1]
