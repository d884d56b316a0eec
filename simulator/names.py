"""Static tables: districts (GB/T 2260), industries (GB/T 4754-2017) and Chinese name pools.

The park is Hangzhou's Future Sci-Tech City in Yuhang district (余杭区, 330110). Industry
weights follow the mix of a sci-tech park: software and IT services first, then research
and technical services, electronics / equipment / pharma manufacturing, trade and business
services, a little real estate.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from itertools import accumulate

PARK_DISTRICT = "330110"

# code → (district name, streets/roads used in addresses)
DISTRICTS: dict[str, tuple[str, tuple[str, ...]]] = {
    "330110": (
        "余杭区",
        (
            "仓前街道文一西路",
            "五常街道良睦路",
            "仓前街道龙潭路",
            "余杭街道向往街",
            "五常街道爱橙街",
            "闲林街道海曙路",
        ),
    ),
    "330106": ("西湖区", ("文三路", "古墩路", "西溪路", "天目山路")),
    "330108": ("滨江区", ("江南大道", "网商路", "长河路", "物联网街")),
    "330102": ("上城区", ("解放东路", "秋涛路", "钱江路")),
    "330105": ("拱墅区", ("湖墅南路", "莫干山路", "丽水路")),
    "330114": ("钱塘区", ("白杨街道科技园路", "下沙街道福城路")),
}
# Outside the park: where relocating enterprises go (Hangzhou districts, Shanghai, Suzhou, Ningbo).
RELOCATION_TARGETS: dict[str, str] = {
    "330108": "浙江省杭州市滨江区江南大道",
    "330106": "浙江省杭州市西湖区古墩路",
    "330114": "浙江省杭州市钱塘区白杨街道科技园路",
    "310115": "上海市浦东新区张江路",
    "320505": "江苏省苏州市虎丘区狮山路",
    "330212": "浙江省宁波市鄞州区首南街道",
}
OUTSIDE_PARK_WEIGHTS: dict[str, float] = {
    "330106": 3.0,
    "330108": 3.0,
    "330102": 1.0,
    "330105": 1.0,
    "330114": 2.0,
}


@dataclass(frozen=True)
class Industry:
    """An industry class with the economics the simulator needs."""

    code: str
    word: str  # the industry word in a company name
    weight: float  # share of the park's enterprises
    revenue_per_employee: float  # CNY per year, median
    vat_rate: float  # general-taxpayer VAT rate
    value_added: float  # share of sales on which VAT is effectively due (output minus input)
    invoice_amount: float  # median amount of one e-invoice, CNY
    wage_base: float  # mean monthly social-security contribution base per employee, CNY
    margin: float  # typical profit margin for CIT
    high_tech_share: float  # share certified high-tech (高新技术企业)
    scope: str


# fmt: off
# code, name word, weight, revenue/employee, VAT rate, value-added share, invoice amount, wage base,
# margin, high-tech share, business scope
_INDUSTRY_TABLE: tuple[tuple[str, str, float, float, float, float, float, float, float, float, str], ...] = (
    ("I6510", "软件科技", 18, 600_000, 0.06, 0.85, 30_000, 11_000, 0.10, 0.45,
     "软件开发；信息系统集成服务；技术服务、技术开发、技术咨询、技术交流、技术转让、技术推广"),
    ("I6513", "信息技术", 8, 550_000, 0.06, 0.85, 25_000, 10_500, 0.09, 0.40,
     "应用软件开发；数据处理服务；技术服务、技术开发"),
    ("I6450", "网络科技", 6, 700_000, 0.06, 0.80, 8_000, 11_500, 0.08, 0.30,
     "互联网数据服务；互联网信息服务；网络技术服务"),
    ("I6520", "微电子", 4, 900_000, 0.13, 0.60, 80_000, 13_000, 0.12, 0.80,
     "集成电路设计；集成电路芯片设计及服务；电子产品销售"),
    ("I6550", "信息咨询", 5, 500_000, 0.06, 0.90, 15_000, 9_500, 0.08, 0.20,
     "信息技术咨询服务；企业管理咨询；软件开发"),
    ("M7320", "科技", 6, 450_000, 0.06, 0.80, 40_000, 10_500, 0.08, 0.60,
     "工程和技术研究和试验发展；技术服务、技术开发、技术咨询"),
    ("M7340", "生物科技", 3, 600_000, 0.06, 0.75, 60_000, 11_000, 0.06, 0.70,
     "医学研究和试验发展；生物技术开发；检验检测服务"),
    ("M7519", "技术服务", 5, 400_000, 0.06, 0.85, 20_000, 8_500, 0.08, 0.30,
     "技术推广服务；科技中介服务；知识产权服务"),
    ("C3981", "电子", 3, 1_100_000, 0.13, 0.35, 60_000, 7_000, 0.07, 0.50,
     "电子元器件制造；电子专用材料研发；电子产品销售"),
    ("C3973", "半导体", 1, 1_500_000, 0.13, 0.40, 120_000, 9_000, 0.10, 0.80,
     "集成电路制造；半导体分立器件制造；集成电路销售"),
    ("C3491", "智能装备", 2, 1_200_000, 0.13, 0.35, 150_000, 7_500, 0.08, 0.55,
     "工业机器人制造；智能机器人的研发；通用设备制造"),
    ("C3581", "医疗器械", 1.5, 1_000_000, 0.13, 0.45, 50_000, 8_500, 0.12, 0.65,
     "第二类医疗器械生产；医疗设备研发；第一类医疗器械销售"),
    ("C2720", "制药", 1.5, 1_600_000, 0.13, 0.45, 90_000, 8_000, 0.15, 0.60,
     "药品生产；化学药品制剂制造；医药技术开发"),
    ("C2761", "生物医药", 1, 1_400_000, 0.13, 0.45, 90_000, 9_000, 0.12, 0.75,
     "生物药品制造；药品研发；技术服务"),
    ("F5176", "商贸", 5, 3_000_000, 0.13, 0.15, 12_000, 6_500, 0.03, 0.02,
     "计算机、软件及辅助设备批发；电子产品销售；办公设备销售"),
    ("F5292", "电子商务", 4, 2_500_000, 0.13, 0.18, 300, 7_000, 0.04, 0.05,
     "互联网销售（除销售需要许可的商品）；日用百货销售；供应链管理服务"),
    ("L7212", "投资管理", 2, 800_000, 0.06, 0.90, 100_000, 12_000, 0.20, 0.0,
     "投资管理；资产管理；股权投资"),
    ("L7299", "企业管理", 4, 500_000, 0.06, 0.85, 10_000, 7_500, 0.08, 0.02,
     "企业管理咨询；市场营销策划；会议及展览服务"),
    ("L7281", "会展服务", 1, 600_000, 0.06, 0.60, 30_000, 7_000, 0.06, 0.0,
     "科技会展服务；会议及展览服务；组织文化艺术交流活动"),
    ("K7020", "物业管理", 1.2, 250_000, 0.06, 0.80, 5_000, 5_500, 0.05, 0.0,
     "物业管理；停车场服务；家政服务"),
    ("K7010", "置业", 0.6, 5_000_000, 0.09, 0.40, 800_000, 9_000, 0.12, 0.0,
     "房地产开发经营；房地产经纪；住房租赁"),
    ("R8730", "文化传媒", 1.5, 700_000, 0.06, 0.70, 20_000, 8_000, 0.08, 0.05,
     "影视节目制作；广告设计、代理；组织文化艺术交流活动"),
    ("P8391", "教育科技", 0.7, 350_000, 0.06, 0.85, 3_000, 7_000, 0.06, 0.05,
     "职业技能培训（不含许可类培训）；教育咨询服务；软件开发"),
    ("H6210", "餐饮管理", 0.8, 300_000, 0.06, 0.50, 200, 5_000, 0.05, 0.0,
     "餐饮服务；餐饮管理；食品销售"),
)
# fmt: on
INDUSTRIES: tuple[Industry, ...] = tuple(Industry(*row) for row in _INDUSTRY_TABLE)

_TRADE_NAME_1 = (
    "云星睿光智聚博恒启天朗易中领深华宸卓凌禾青之钱良西梦橙极蓝微矩量瀚乐嘉锦汇瑞鼎亿同志明思拓维灵远德"
)
_TRADE_NAME_2 = "帆河思启汇能远信明枢润达研航蓝澜宇锐云木藤江潮渚溪想果光鲸栖阵子海享禾程通丰盛联创源度犀途景"
_SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何林高罗郑梁谢宋唐许韩冯邓曹彭曾肖田董潘袁蔡蒋余于杜叶程魏苏吕丁任沈姚卢钟姜崔谭陆范汪廖石金贾夏方邹熊孟秦邱侯江尹薛段雷龙史陶贺毛顾龚邵万钱戴严莫孔汤俞楼应章"
# Zhejiang's most frequent surnames come first; weights fall off with rank.
_SURNAME_CUMULATIVE = tuple(accumulate(1.0 / (1 + 0.15 * i) for i in range(len(_SURNAMES))))
_GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚英华玉萍红鹏飞斌宇浩凯晨轩子涵欣怡佳俊博文志建国海林峰雪婷琳思睿泽辰然嘉诺"


def trade_name(rng: random.Random) -> str:
    """A two-character 字号 (trade name) such as 云帆 or 睿澜."""
    return rng.choice(_TRADE_NAME_1) + rng.choice(_TRADE_NAME_2)


def company_name(rng: random.Random, industry: Industry, large: bool) -> str:
    prefix = "浙江" if large and rng.random() < 0.5 else "杭州"
    suffix = "股份有限公司" if large and rng.random() < 0.3 else "有限公司"
    return f"{prefix}{trade_name(rng)}{industry.word}{suffix}"


def person_name(rng: random.Random) -> str:
    surname = rng.choices(_SURNAMES, cum_weights=_SURNAME_CUMULATIVE)[0]
    given_length = 1 if rng.random() < 0.3 else 2
    return surname + "".join(rng.choice(_GIVEN) for _ in range(given_length))


def investor_name(rng: random.Random) -> str:
    """A shareholder: a person, or a venture fund organised as a limited partnership."""
    if rng.random() < 0.5:
        return person_name(rng)
    return f"杭州{trade_name(rng)}创业投资合伙企业（有限合伙）"


def address(rng: random.Random, district: str) -> str:
    name, streets = DISTRICTS[district]
    road = rng.choice(streets)
    return f"浙江省杭州市{name}{road}{rng.randint(1, 2000)}号{rng.randint(1, 12)}幢{rng.randint(1, 25)}0{rng.randint(1, 9)}室"


def relocation_address(rng: random.Random, district: str) -> str:
    return f"{RELOCATION_TARGETS[district]}{rng.randint(1, 3000)}号{rng.randint(1, 20)}层"
