"""The standards shipped with the product, as data: 人民法庭“五化”建设标准, 示范人民法庭
标准 and the 三年规划 milestone plan. Loaded by `load_standard_templates` (idempotent:
a family that already exists — in any version — is left alone, so an edited or
re-versioned standard is never overwritten)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select

from app.checklists import services
from app.checklists.models import ChecklistTemplate
from app.extensions import db


def _item(
    code: str, title: str, weight: float, guidance: str, evidence: bool = False, days: int | None = None
):
    return {
        "code": code,
        "title": title,
        "weight": weight,
        "guidance": guidance,
        "evidence_required": evidence,
        "due_offset_days": days,
    }


WUHUA = {
    "family": "wuhua",
    "name": "人民法庭“五化”建设标准",
    "description": "对标布局合理化、审判专业化、管理精细化、保障标准化、解纷多元化，逐项核验人民法庭建设情况。",
    "sections": [
        {
            "title": "一、布局合理化",
            "items": [
                _item(
                    "WH-1.1",
                    "法庭设置纳入县域发展规划，辐射范围、服务人口与案件量相适应",
                    2,
                    "上传法庭设置规划或党委、政府批复文件；说明辖区乡镇数、服务人口和近三年收案量。",
                    True,
                ),
                _item(
                    "WH-1.2",
                    "中心法庭、普通法庭、专业（特色）法庭分类设置，功能定位明确",
                    1.5,
                    "说明本庭类型及功能定位；特色法庭写明服务的产业或领域。",
                ),
                _item(
                    "WH-1.3",
                    "审判区、调解区、诉讼服务区等功能区按标准设置，标识标牌规范统一",
                    2,
                    "上传法庭外观、各功能区及标识标牌的现场照片。",
                    True,
                ),
                _item(
                    "WH-1.4",
                    "在偏远乡镇设立巡回审判点或法官工作站，定期开展巡回审判",
                    1,
                    "上传巡回审判点清单和近半年巡回审判记录。",
                    True,
                ),
                _item(
                    "WH-1.5",
                    "通过驻村（社区）法官、网格员联络机制实现辖区乡镇（街道）全覆盖",
                    1,
                    "说明联络机制及覆盖的乡镇（街道）名单。",
                ),
            ],
        },
        {
            "title": "二、审判专业化",
            "items": [
                _item(
                    "WH-2.1",
                    "按“1名法官+1名法官助理+1名书记员”以上标准组建审判团队",
                    2,
                    "上传法庭人员名册（姓名、职务、员额情况）。",
                    True,
                ),
                _item(
                    "WH-2.2",
                    "庭长由具有基层审判经验的员额法官担任，配齐配强",
                    1.5,
                    "说明庭长任职情况及审判经历。",
                ),
                _item(
                    "WH-2.3",
                    "围绕辖区产业特点开展专业化审判，形成典型案例",
                    1.5,
                    "如林下参、旅游、冰葡萄酒等产业纠纷；上传典型案例或审判经验材料。",
                    True,
                ),
                _item(
                    "WH-2.4", "法庭干警每年参加业务培训不少于 40 学时", 1, "上传培训记录或学时统计表。", True
                ),
                _item(
                    "WH-2.5",
                    "结收案比、平均审理天数、调撤率等质效指标不低于全市平均水平",
                    2,
                    "上传审判管理系统导出的质效指标报表。",
                    True,
                ),
            ],
        },
        {
            "title": "三、管理精细化",
            "items": [
                _item(
                    "WH-3.1",
                    "建立法庭工作规则、审判流程节点管理等制度并上墙公示",
                    1.5,
                    "上传制度文本及上墙公示的照片。",
                    True,
                ),
                _item(
                    "WH-3.2",
                    "落实审限“红黄绿灯”预警，超审限案件按期清零",
                    1.5,
                    "说明预警机制运行情况及超审限案件数。",
                ),
                _item("WH-3.3", "随案同步生成电子卷宗，案件归档及时", 1, "说明电子卷宗生成率和归档情况。"),
                _item(
                    "WH-3.4",
                    "落实党风廉政建设责任制，定期开展廉政教育和警示教育",
                    1,
                    "上传廉政教育活动记录。",
                    True,
                ),
                _item(
                    "WH-3.5",
                    "工作上墙、责任上墙、进度上墙，台账完整、按月更新",
                    1,
                    "上传工作台账及上墙照片。",
                    True,
                ),
            ],
        },
        {
            "title": "四、保障标准化",
            "items": [
                _item(
                    "WH-4.1",
                    "法庭用房面积、审判法庭数量符合《人民法庭建设标准》",
                    2,
                    "上传房屋产权或竣工验收材料、平面图。",
                    True,
                ),
                _item(
                    "WH-4.2",
                    "配备科技法庭、远程视频庭审、诉讼服务一体机等设备并正常使用",
                    1.5,
                    "上传设备现场照片及近期使用记录。",
                    True,
                ),
                _item(
                    "WH-4.3",
                    "配备执勤车辆和安检设备，落实安保人员及应急预案",
                    1.5,
                    "上传安检设备照片和应急预案。",
                    True,
                ),
                _item("WH-4.4", "干警食堂、宿舍等生活保障设施满足基本需求", 1, "说明生活保障设施情况。"),
                _item("WH-4.5", "法庭经费纳入财政预算并足额保障", 1, "说明本年度经费预算及到位情况。"),
            ],
        },
        {
            "title": "五、解纷多元化",
            "items": [
                _item(
                    "WH-5.1",
                    "与乡镇综治中心、派出所、司法所等建立诉调对接机制",
                    1.5,
                    "上传对接协议或机制文件。",
                    True,
                ),
                _item(
                    "WH-5.2",
                    "建立特邀调解员名册，依法开展诉前调解",
                    1.5,
                    "说明特邀调解员人数及诉前调解案件数。",
                ),
                _item(
                    "WH-5.3", "参与“枫桥式人民法庭”创建，推动矛盾纠纷就地化解", 1.5, "说明创建工作开展情况。"
                ),
                _item(
                    "WH-5.4",
                    "开展法官进网格、巡回审判进村屯、普法宣传，每季度不少于一次",
                    1,
                    "上传活动照片及记录。",
                    True,
                ),
                _item("WH-5.5", "诉前调解成功率、万人起诉率等指标达到全市目标", 1, "说明指标完成情况。"),
            ],
        },
    ],
}

SHIFAN = {
    "family": "shifan",
    "name": "示范人民法庭标准",
    "description": "创建示范人民法庭的评定标准，由上级法院逐项核验。",
    "sections": [
        {
            "title": "一、政治引领",
            "items": [
                _item(
                    "SF-01",
                    "法庭党支部（党小组）建设规范，“三会一课”按期开展",
                    1.5,
                    "上传近一年支部活动记录。",
                    True,
                ),
                _item("SF-02", "深入开展“人民法庭为人民”主题实践活动", 1, "说明活动开展情况及成效。"),
                _item("SF-03", "近三年法庭干警无违法违纪情况", 1.5, "上传纪检监察部门出具的证明材料。", True),
            ],
        },
        {
            "title": "二、审判质效",
            "items": [
                _item(
                    "SF-04",
                    "结案率、法定审限内结案率位居全市前列",
                    2,
                    "上传近一年质效指标报表及全市排名。",
                    True,
                ),
                _item("SF-05", "案件发改率、涉诉信访率低于全省平均水平", 1.5, "说明相关指标及全省平均值。"),
                _item(
                    "SF-06", "形成可复制推广的特色审判经验或典型案例", 1.5, "上传经验材料或典型案例。", True
                ),
            ],
        },
        {
            "title": "三、基层治理",
            "items": [
                _item("SF-07", "诉源治理成效明显，辖区万人起诉率逐年下降", 1.5, "说明近三年万人起诉率。"),
                _item("SF-08", "建成“一站式”多元解纷和诉讼服务中心", 1.5, "上传诉讼服务中心现场照片。", True),
                _item(
                    "SF-09", "工作获得地方党委、政府或上级法院通报表扬", 1, "上传表扬通报或荣誉证书。", True
                ),
            ],
        },
        {
            "title": "四、基础保障",
            "items": [
                _item(
                    "SF-10",
                    "全面达到人民法庭“五化”建设标准",
                    2,
                    "以“五化”建设标准核验结果为准，上传达标情况说明。",
                    True,
                ),
                _item(
                    "SF-11", "网上立案、电子送达、在线庭审等智慧法庭功能全面应用", 1, "说明各项功能的使用率。"
                ),
                _item("SF-12", "法庭干警满编运行，无长期借调", 1, "说明编制数与在岗人数。"),
            ],
        },
    ],
}

SANNIAN = {
    "family": "sannian",
    "name": "人民法庭建设三年规划",
    "description": "“一年打基础、两年上台阶、三年创一流”：期限自应用之日起按年计算。",
    "sections": [
        {
            "title": "第一年 打基础",
            "items": [
                _item(
                    "SN-1.1", "完成法庭布局调整论证，制定“一庭一策”建设方案", 1, "上传建设方案。", True, 365
                ),
                _item("SN-1.2", "法庭人员按标准配齐，审判团队组建到位", 1, "上传人员名册。", False, 365),
                _item("SN-1.3", "诉讼服务站、巡回审判点建设完成并投入使用", 1, "上传现场照片。", True, 365),
                _item(
                    "SN-1.4",
                    "建立工作台账，实现工作、责任、进度“三上墙”",
                    1,
                    "上传台账及上墙照片。",
                    True,
                    365,
                ),
            ],
        },
        {
            "title": "第二年 上台阶",
            "items": [
                _item(
                    "SN-2.1",
                    "“五化”建设标准达标率不低于 80%",
                    1.5,
                    "以“五化”建设标准核验结果为准。",
                    False,
                    730,
                ),
                _item("SN-2.2", "审判质效主要指标进入全市中上游", 1.5, "上传质效指标报表。", True, 730),
                _item("SN-2.3", "诉调对接机制覆盖辖区全部乡镇（街道）", 1, "说明覆盖情况。", False, 730),
                _item("SN-2.4", "形成至少一项特色审判工作品牌", 1, "上传品牌建设材料。", True, 730),
            ],
        },
        {
            "title": "第三年 创一流",
            "items": [
                _item("SN-3.1", "全面达到“五化”建设标准", 2, "以“五化”建设标准核验结果为准。", True, 1095),
                _item(
                    "SN-3.2",
                    "创建省级以上示范人民法庭或“枫桥式人民法庭”",
                    2,
                    "上传命名文件或荣誉证书。",
                    True,
                    1095,
                ),
                _item("SN-3.3", "审判质效主要指标位居全市前列", 1.5, "上传质效指标报表及排名。", False, 1095),
                _item("SN-3.4", "总结推广经验做法，形成可复制的工作模式", 1, "上传经验材料。", True, 1095),
            ],
        },
    ],
}

STANDARDS = (WUHUA, SHIFAN, SANNIAN)


def load_standard_templates(now: datetime) -> int:
    """Create and publish the shipped standards whose family does not exist yet; the
    number created. Flushes; the caller commits."""
    created = 0
    for standard in STANDARDS:
        if db.session.scalar(
            select(ChecklistTemplate.id).where(ChecklistTemplate.family == standard["family"])
        ):
            continue
        template = services.create_template(None, now=now, **standard)
        services.publish_template(None, template, now=now)
        created += 1
    return created
