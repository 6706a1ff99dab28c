"""The words and places of the sample world: provinces and their borders, learner attributes,
the bilingual topic vocabulary, provider names and the templates text is written from.

Pure data (plus the parsing that turns the topic text into arrays). The probabilities that say
how often each word is used live in :mod:`recommender.data.sample_world.priors`.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from recommender.data.schema import CATEGORIES

# --------------------------------------------------------------------------------------------
# Geography: 12 provinces/municipalities (pinyin id, Chinese name, share of learners) and the
# real borders among them, so offline resources can be matched to learners nearby.
# --------------------------------------------------------------------------------------------
REGIONS: tuple[tuple[str, str, float], ...] = (
    ("beijing", "北京", 0.08), ("tianjin", "天津", 0.05), ("hebei", "河北", 0.11),
    ("shandong", "山东", 0.13), ("henan", "河南", 0.13), ("jiangsu", "江苏", 0.11),
    ("shanghai", "上海", 0.07), ("zhejiang", "浙江", 0.09), ("hubei", "湖北", 0.08),
    ("chongqing", "重庆", 0.05), ("sichuan", "四川", 0.08), ("xizang", "西藏", 0.02),
)
REGION_BORDERS: tuple[tuple[str, str], ...] = (
    ("beijing", "tianjin"), ("beijing", "hebei"), ("tianjin", "hebei"), ("hebei", "shandong"),
    ("hebei", "henan"), ("shandong", "henan"), ("shandong", "jiangsu"), ("henan", "hubei"),
    ("jiangsu", "shanghai"), ("jiangsu", "zhejiang"), ("shanghai", "zhejiang"),
    ("hubei", "chongqing"), ("chongqing", "sichuan"), ("sichuan", "xizang"),
)
REGION_IDS = np.array([r[0] for r in REGIONS], dtype=object)
REGION_ZH = np.array([r[1] for r in REGIONS], dtype=object)
REGION_SHARE = np.array([r[2] for r in REGIONS]) / sum(r[2] for r in REGIONS)
MUNICIPALITIES = np.isin(REGION_IDS, ["beijing", "tianjin", "shanghai", "chongqing"])
REGION_INDEX = {name: i for i, name in enumerate(REGION_IDS)}


def region_table() -> pd.DataFrame:
    """Adjacency listed in both directions, so a lookup by either side finds the pair."""
    pairs = list(REGION_BORDERS) + [(b, a) for a, b in REGION_BORDERS]
    pairs.sort(key=lambda pair: (REGION_INDEX[pair[0]], pair[1]))
    return pd.DataFrame(pairs, columns=["region", "neighbour"])


def _neighbour_matrix() -> np.ndarray:
    """Region-by-region border flags, for matching offline resources to learners."""
    near = np.zeros((len(REGIONS), len(REGIONS)), dtype=bool)
    for a, b in REGION_BORDERS:
        near[REGION_INDEX[a], REGION_INDEX[b]] = near[REGION_INDEX[b], REGION_INDEX[a]] = True
    near.flags.writeable = False
    return near


REGION_NEIGHBOURS = _neighbour_matrix()

# --------------------------------------------------------------------------------------------
# Learner attributes beyond the groups the schema names.
# --------------------------------------------------------------------------------------------
AGE_BANDS: tuple[str, ...] = ("16-24", "25-34", "35-44", "45-54", "55-64", "65+")
EDUCATION_LEVELS: tuple[str, ...] = (
    "primary", "junior_secondary", "senior_secondary", "vocational", "bachelor", "postgraduate",
)
LANGUAGES: tuple[str, ...] = ("zh", "en", "bo", "ug")  # Mandarin, English, Tibetan, Uyghur

# --------------------------------------------------------------------------------------------
# The bilingual catalog vocabulary: per category, topics as "中文 / English", most asked first.
# --------------------------------------------------------------------------------------------
_TOPICS_TEXT: dict[str, str] = {
    "vocational_skills": """
        电工 / electrician skills; 育婴师 / childcare; 会计记账 / bookkeeping;
        Excel表格 / Excel; 焊接 / welding; 家政服务 / housekeeping services;
        中式烹饪 / Chinese cooking; 汽车维修 / car repair; 叉车操作 / forklift operation;
        美容美发 / hairdressing; 物流仓储 / logistics and warehousing;
        安全生产 / workplace safety; 数控加工 / CNC machining""",
    "digital_literacy": """
        智能手机 / smartphone; 网上挂号 / online hospital booking; 移动支付 / mobile payment;
        防范电信诈骗 / avoiding phone scams; 微信使用 / WeChat;
        网上政务 / online government services; 网约车 / ride-hailing apps;
        短视频制作 / short video making; 电脑基础 / computer basics; 网络安全 / online safety;
        网上购物 / online shopping; 人工智能助手 / AI assistants""",
    "agricultural_technology": """
        大棚蔬菜 / greenhouse vegetables; 果树修剪 / fruit tree pruning;
        电商直播 / livestreaming sales; 畜禽养殖 / livestock and poultry farming;
        病虫害防治 / pest control; 水产养殖 / aquaculture;
        测土配方施肥 / soil testing and fertilising; 农机操作 / farm machinery;
        茶叶种植 / tea growing; 中药材种植 / medicinal herb growing;
        无人机植保 / drone crop spraying; 农产品品牌 / farm product branding""",
    "health_elderly_care": """
        高血压防治 / managing hypertension; 糖尿病饮食 / diabetic diet; 中医养生 / TCM wellness;
        急救知识 / first aid; 老年护理 / elderly caregiving; 防跌倒 / fall prevention;
        心理健康 / mental health; 营养膳食 / nutrition; 认知症照护 / dementia care;
        康复训练 / rehabilitation exercise; 合理用药 / safe use of medicines;
        慢病管理 / chronic disease care""",
    "literacy": """
        识字 / reading and writing characters; 普通话 / Mandarin; 拼音 / pinyin;
        阅读理解 / reading comprehension; 应用文写作 / practical writing;
        基础数学 / basic maths; 英语口语 / spoken English; 写作 / creative writing;
        读书会 / book club""",
    "law_civics": """
        劳动合同 / employment contracts; 社会保险 / social insurance; 民法典 / the Civil Code;
        消费者权益 / consumer rights; 工伤维权 / work injury claims; 法律援助 / legal aid;
        婚姻家庭法 / marriage and family law; 交通安全 / road safety;
        土地承包 / rural land contracts; 居民医保 / resident medical insurance;
        反家庭暴力 / protection from domestic violence""",
    "culture_leisure": """
        书法 / calligraphy; 太极 / tai chi; 广场舞 / square dancing; 国画 / Chinese painting;
        摄影 / photography; 合唱 / choir singing; 八段锦 / baduanjin qigong; 古筝 / guzheng;
        京剧 / Peking opera; 剪纸 / paper cutting; 园艺 / gardening; 旅游 / travel""",
    "family_education": """
        亲子沟通 / parent-child communication; 家庭教育 / parenting; 隔代教育 / grandparenting;
        青春期 / adolescence; 儿童安全 / child safety; 幼儿营养 / child nutrition;
        学习习惯 / study habits; 网络沉迷 / screen time; 家庭理财 / household finance""",
    "entrepreneurship": """
        开网店 / opening an online shop; 创业计划 / business planning; 市场营销 / marketing;
        直播带货 / livestream selling; 乡村旅游 / rural tourism; 农家乐 / farm stays;
        小微企业财务 / small business accounts; 创业贷款 / startup loans; 税务基础 / tax basics;
        品牌设计 / branding""",
}


def _parse_topics() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The vocabulary as parallel arrays: Chinese name, English name, category index."""
    zh, en, category = [], [], []
    for category_idx, name in enumerate(CATEGORIES):
        for item in _TOPICS_TEXT[name].split(";"):
            topic_zh, topic_en = (part.strip() for part in item.split("/"))
            zh.append(topic_zh)
            en.append(topic_en)
            category.append(category_idx)
    return np.array(zh, dtype=object), np.array(en, dtype=object), np.array(category)


TOPIC_ZH, TOPIC_EN, TOPIC_CATEGORY = _parse_topics()
TOPIC_EN_TITLE = np.array([t[0].upper() + t[1:] for t in TOPIC_EN], dtype=object)
N_TOPICS = len(TOPIC_ZH)
# Position of each topic within its category, 0 for the most asked for.
TOPIC_RANK = np.concatenate([np.arange(count) for count in np.bincount(TOPIC_CATEGORY)])

# --------------------------------------------------------------------------------------------
# Providers: national platforms for resources without a region, provincial ones for the rest.
# --------------------------------------------------------------------------------------------
NATIONAL_PROVIDERS: dict[str, tuple[str, ...]] = {
    "open_university": ("国家开放大学", "国家老年大学"),
    "community_college": ("全国社区教育联盟",),
    "community_school": ("社区教育在线",),
    "vocational_school": ("全国职业技能学堂", "技能中国在线"),
    "enterprise": ("智联技能学堂", "新农科技学院", "康养在线", "乐学网"),
    "library_museum": ("国家数字文化网", "国家图书馆公开课"),
}
REGIONAL_PROVIDERS: dict[str, tuple[str, ...]] = {  # "{r}" is the region's Chinese name
    "open_university": ("{r}开放大学", "{r}老年开放大学"),
    "community_college": ("{r}社区学院", "{r}城市学院继续教育部"),
    "community_school": ("{r}城关街道社区学校", "{r}新华街道社区学校", "{r}人民路社区学校"),
    "vocational_school": ("{r}职业技术学院", "{r}技师学院"),
    "enterprise": ("{r}人力资源服务公司", "{r}农业科技有限公司", "{r}家政服务集团"),
    "library_museum": ("{r}图书馆", "{r}文化馆", "{r}博物馆"),
}

# --------------------------------------------------------------------------------------------
# Templates. Interests are what learners type about themselves ("{a}" is a list of topics);
# titles go by level (rows follow LEVELS; "{t}" is the main topic, "{T}" the same capitalised,
# "{u}" the second); descriptions are assembled from the phrases below.
# --------------------------------------------------------------------------------------------
INTEREST_ZH = ("想学{a}", "对{a}感兴趣", "希望学会{a}", "想了解{a}方面的知识", "{a}")
INTEREST_EN = ("want to learn {a}", "interested in {a}", "I'd like to improve my {a}")
ZH_TITLES = (
    ("{t}入门", "零基础学{t}", "{t}基础知识", "轻松学{t}"),
    ("{t}实用技巧", "{t}进阶", "{t}实训", "{t}与{u}"),
    ("{t}高级研修", "{t}专题精讲", "{t}实战提升"),
)
EN_TITLES = (
    ("Introduction to {t}", "{T} for beginners", "{T} basics", "Getting started with {t}"),
    ("Practical {t}", "{T}: next steps", "{T} in practice", "{T} and {u}"),
    ("Advanced {t}", "{T} masterclass", "{T}: in depth"),
)
# Description phrases, indexed by level, mode, format (micro-lesson, talk, course) and category.
LEVEL_ZH = ("从零讲起，无需基础", "面向有一定基础的学员，注重实际操作",
            "面向有经验的学员，深入讲解")
LEVEL_EN = ("No prior knowledge needed", "For learners with some experience, hands-on",
            "For experienced learners, in depth")
MODE_ZH = ("线上", "线下", "线上线下结合的")
MODE_EN = ("online", "in-person", "blended")
FORMAT_ZH = ("微课", "讲座", "课程")
FORMAT_EN = ("micro-lesson", "talk", "course")
AUDIENCE_ZH = (
    "可用于职业技能提升和求职就业", "帮助中老年人和新手跨越数字鸿沟", "适合种养殖户和返乡创业者",
    "适合中老年朋友及家庭照护者", "适合希望提高读写能力的成年学习者", "帮助学员依法维护自身权益",
    "丰富业余文化生活", "适合家长和祖辈", "适合有创业意愿的城乡居民",
)
AUDIENCE_EN = (
    "Builds job skills for work and re-employment", "Helps older adults and beginners go digital",
    "For farmers and returning rural entrepreneurs", "For older adults and family carers",
    "For adults improving their reading and writing", "Helps learners know and defend their rights",
    "For leisure and community life", "For parents and grandparents",
    "For anyone in town or village who wants to start a business",
)
