"""Names and words for generated data: places, courts, people, the text of items,
reports and findings. Every name a unit answers to is unique in the whole tree."""

from __future__ import annotations

import random

PROVINCES = [
    ("辽宁省", "辽宁"),  # first: the demo tree is its high court
    ("北京市", "北京"),
    ("天津市", "天津"),
    ("河北省", "河北"),
    ("山西省", "山西"),
    ("内蒙古自治区", "内蒙古"),
    ("吉林省", "吉林"),
    ("黑龙江省", "黑龙江"),
    ("上海市", "上海"),
    ("江苏省", "江苏"),
    ("浙江省", "浙江"),
    ("安徽省", "安徽"),
    ("福建省", "福建"),
    ("江西省", "江西"),
    ("山东省", "山东"),
    ("河南省", "河南"),
    ("湖北省", "湖北"),
    ("湖南省", "湖南"),
    ("广东省", "广东"),
    ("广西壮族自治区", "广西"),
    ("海南省", "海南"),
    ("重庆市", "重庆"),
    ("四川省", "四川"),
    ("贵州省", "贵州"),
    ("云南省", "云南"),
    ("西藏自治区", "西藏"),
    ("陕西省", "陕西"),
    ("甘肃省", "甘肃"),
    ("青海省", "青海"),
    ("宁夏回族自治区", "宁夏"),
    ("新疆维吾尔自治区", "新疆"),
    ("新疆维吾尔自治区高级人民法院生产建设兵团分院", "兵团"),
]

# Liaoning's other intermediate courts (the demo has 本溪, 阜新, 朝阳).
LIAONING_CITIES = ["沈阳", "大连", "鞍山", "抚顺", "丹东", "锦州", "营口", "辽阳", "盘锦", "铁岭", "葫芦岛"]
RAILWAY_COURT = ("沈阳铁路运输中级人民法院", ["沈铁中院"])

PLACE_CHARS = (
    "安宁平和兴隆昌盛泰康庆丰阳山河江湖海林泉石桥台城关堡屯营沟岭峪坪店集东西南北中新清长永广"
    "福德建金玉青白红黄龙凤鹤马松柏桃柳花春云天华明光远通达顺武文仁义信岗甸旗柴杨沙溪峰"
)
FEATURES = [
    "旅游法庭",
    "家事法庭",
    "金融法庭",
    "环境资源法庭",
    "劳动争议法庭",
    "道路交通法庭",
    "知识产权法庭",
    "林下参产业法庭",
    "海洋渔业法庭",
    "草原生态法庭",
]
SURNAMES = (
    "王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗梁宋郑谢韩唐冯于董萧程曹袁邓许傅沈曾彭吕苏卢蒋蔡贾丁魏"
    "薛叶阎余潘杜戴夏钟汪田任姜范方石姚谭廖邹熊金陆郝孔白崔康毛邱秦江史顾侯邵孟龙万段雷钱汤尹黎易常武乔贺"
)
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华建国志红文斌辉鹏宇浩凯丹玲婷雪琳晨阳波宁海峰"


class Namer:
    """Unique names for units (official names and aliases share one namespace)."""

    def __init__(self, rng: random.Random, taken: set[str]):
        self.rng = rng
        self.taken = taken  # every unit name and alias already in the tree
        self.places: set[str] = set()

    def place(self) -> str:
        """A two-character place name not used before (three characters when crowded)."""
        for length in (2, 2, 2, 2, 2, 2, 2, 2, 3, 3, 3, 3, 3, 3, 3, 3, 4):
            name = "".join(self.rng.choice(PLACE_CHARS) for _ in range(length))
            if name not in self.places:
                self.places.add(name)
                return name
        raise RuntimeError("地名用尽")

    def unit(self, make) -> tuple[str, list[str]]:
        """(official name, aliases) from `make(place)`, retried until the official name
        is free; an alias already taken is dropped."""
        for _ in range(10_000):
            official, aliases = make(self.place())
            if official in self.taken:
                continue
            self.taken.add(official)
            kept = []
            for alias in aliases:
                if alias not in self.taken:
                    self.taken.add(alias)
                    kept.append(alias)
            return official, kept
        raise RuntimeError("找不到未被使用的单位名称")


def intermediate_name(place: str) -> tuple[str, list[str]]:
    return f"{place}市中级人民法院", [f"{place}中院", f"{place}市中院"]


def base_name(city: str, place: str, kind: int) -> tuple[str, list[str]]:
    if kind == 0:
        return f"{city}{place}区人民法院", [f"{place}区人民法院", f"{place}区法院"]
    if kind == 1:
        return f"{place}县人民法院", [f"{place}县法院"]
    return f"{place}市人民法院", [f"{place}市法院"]


def tribunal_name(place: str) -> tuple[str, list[str]]:
    return f"{place}人民法庭", [f"{place}法庭"]


def person(rng: random.Random) -> str:
    given = rng.choice(GIVEN) + (rng.choice(GIVEN) if rng.random() < 0.7 else "")
    return rng.choice(SURNAMES) + given


# ---------------------------------------------------------------- words of the work

PROJECT_NAMES = [
    "人民法庭建设攻坚",
    "审判质效提升年",
    "治超清积专项行动",
    "诉源治理攻坚",
    "法庭“五化”达标",
    "执行攻坚专项行动",
    "队伍建设强基",
    "智慧法庭建设",
    "多元解纷示范创建",
    "示范法庭创建",
]
TASK_VERBS = ["落实", "完善", "推进", "规范", "开展", "健全", "加强", "组织", "建立", "深化"]
TASK_OBJECTS = [
    "人民法庭标识标牌建设",
    "诉讼服务站点建设",
    "巡回审判点布局",
    "审执质效“面对面”机制",
    "法官工作站运行",
    "诉前调解与综治中心衔接",
    "长期未结案件清理",
    "卷宗电子化归档",
    "法庭安全保卫设施",
    "法庭庭长选配",
    "干警业务培训",
    "法庭信息化设备配备",
    "特色法庭品牌培育",
    "“枫桥式”人民法庭创建",
    "案件质量评查",
    "执行案件集中清理",
    "超审限案件专项治理",
    "涉企案件快立快审",
    "乡村振兴司法服务",
    "法治宣传进村入户",
]
REQUIREMENTS = [
    "按照全省统一标准落实，形成可检查的工作台账。",
    "明确责任人和完成时限，按期报送进展情况。",
    "对标对表“五化”建设标准，逐项整改到位。",
    "结合辖区实际制定实施方案，报上级法院备案。",
    "总结经验做法，形成可复制推广的工作机制。",
]
REPORT_TEXTS = [
    "已召开专题会议部署，明确责任分工。",
    "已完成现场勘查，正在制定实施方案。",
    "相关设备已采购到位，正在安装调试。",
    "已与乡镇综治中心对接，建立联络机制。",
    "已完成阶段性任务，整理台账资料。",
    "本月新增巡回审判 3 次，现场调解 5 件。",
    "已组织干警集中培训一次，参训 12 人。",
    "工作方案已报院党组审定。",
    "已完成自查，发现问题 2 项，正在整改。",
    "按计划推进，进度正常。",
    "受天气影响施工暂停，预计下周恢复。",
    "已全部完成，相关材料已上传。",
]
RETURN_REASONS = [
    "佐证材料不全，请补充现场照片。",
    "完成情况与要求不符，请重新落实。",
    "台账不规范，请按模板整理。",
]
FINDINGS = [
    "部分卷宗归档不及时，存在超期未归档案件",
    "诉讼服务站点自助设备长期未使用",
    "法庭标识标牌不规范",
    "巡回审判点未按计划开展工作",
    "安保设施配备不足，安检记录不全",
    "诉前调解案件台账登记不完整",
    "长期未结案件清理进度滞后",
    "法庭档案室温湿度控制设备缺失",
    "干警值班制度落实不到位",
    "信息化设备故障未及时报修",
]
VISIT_TOPICS = [
    "审执质效、法庭建设",
    "对标对表“五化”标准",
    "诉源治理",
    "队伍建设",
    "执行工作",
    "基础设施保障",
]
VISIT_SUMMARIES = [
    "听取法庭工作汇报，旁听庭审，查阅卷宗。",
    "实地查看法庭功能区设置，与干警座谈。",
    "走访乡镇综治中心，了解诉前调解衔接情况。",
    "检查执行案件办理情况，抽查案卷十件。",
]
