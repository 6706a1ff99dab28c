"""The console's one message catalog, in English and Chinese, and the choice of language.

Every label a page shows is a key here (templates call ``t(key)``; a missing key is an error,
never English leaking into a Chinese page). Known data values (learner groups, modes, provider
types, verdicts, constraints) are translated through ``v(kind, value)``; unknown values are
shown as they are stored. The language is ``?lang=zh|en`` when given, else the best match in
``Accept-Language``, else English.
"""

from __future__ import annotations

from collections.abc import Callable


LANGUAGES = ("en", "zh")
DEFAULT = "en"

MESSAGES: dict[str, tuple[str, str]] = {  # key -> (English, Chinese)
    "app.title": ("Operator console", "运营控制台"),
    "nav.overview": ("Overview", "概览"),
    "nav.learners": ("Learners", "学习者"),
    "nav.equity": ("Equal service", "公平服务"),
    "nav.catalog": ("Catalog and demand", "资源与需求"),
    "nav.models": ("Models", "模型"),
    "nav.experiments": ("Experiments", "实验"),
    "nav.logout": ("Log out", "退出登录"),
    "nav.language": ("中文", "English"),
    "login.title": ("Log in", "登录"),
    "login.key": ("Admin or operator key", "管理员或运营密钥"),
    "login.submit": ("Log in", "登录"),
    "login.failed": ("That key is not valid.", "密钥无效。"),
    "login.hint": ("Sessions end after {minutes} minutes.", "会话在 {minutes} 分钟后结束。"),
    "role.admin": ("administrator", "管理员"),
    "role.operator": ("operator", "运营人员"),
    "common.none": ("none", "无"),
    "common.count": ("count", "数量"),
    "common.share": ("share", "占比"),
    "common.value": ("value", "取值"),
    "common.learners": ("learners", "学习者数"),
    "common.resource": ("resource", "资源"),
    "common.title": ("title", "标题"),
    "common.score": ("score", "得分"),
    "common.reason": ("reason", "推荐理由"),
    "common.rank": ("rank", "排名"),
    "common.version": ("version", "版本"),
    "common.status": ("status", "状态"),
    "common.run": ("run", "运行"),
    "common.submit": ("Show", "显示"),
    "common.not_configured": ("MLflow tracking is not configured for this server.",
                              "此服务器未配置 MLflow 跟踪。"),
    "common.no_model": ("No model is served.", "当前没有加载模型。"),
    "common.unavailable": ("Not available now", "暂时不可用"),
    "overview.title": ("Overview", "概览"),
    "overview.model": ("Served model", "当前服务模型"),
    "overview.version": ("Version", "版本"),
    "overview.run": ("MLflow run", "MLflow 运行"),
    "overview.catalog": ("Catalog", "资源目录"),
    "overview.resources": ("Resources in the model", "模型中的资源"),
    "overview.api_resources": ("Resources added or changed through the API",
                               "通过接口新增或修改的资源"),
    "overview.by_mode": ("By mode", "按学习方式"),
    "overview.by_provider": ("By provider type", "按提供方类型"),
    "overview.learners": ("Learners", "学习者"),
    "overview.bundle_learners": ("In the model", "模型中"),
    "overview.stored_learners": ("Profiles stored through the API", "通过接口保存的档案"),
    "overview.events": ("Events", "学习行为事件"),
    "overview.events_today": ("Ingested today (UTC)", "今日接收（UTC）"),
    "overview.events_total": ("Stored since the model", "模型之后已保存"),
    "overview.per_hour": ("Events per hour, last 24 hours (UTC)", "最近24小时每小时事件数（UTC）"),
    "overview.hour": ("hour", "小时"),
    "overview.traffic": ("Requests to this server", "本服务器的请求"),
    "overview.route": ("route", "接口"),
    "overview.requests": ("requests", "请求数"),
    "overview.errors": ("server errors", "服务器错误"),
    "overview.mean_ms": ("mean ms", "平均毫秒"),
    "overview.p95_ms": ("p95 ms (at most)", "95分位毫秒（上限）"),
    "overview.rate": ("Requests per second since start", "启动以来每秒请求数"),
    "learners.title": ("Learners", "学习者"),
    "learners.search": ("Learner id contains", "学习者编号包含"),
    "learners.found": ("Learners found", "找到的学习者"),
    "learners.none_found": ("No learner matches.", "没有匹配的学习者。"),
    "learner.title": ("Learner", "学习者"),
    "learner.profile": ("Profile", "档案"),
    "learner.show_sensitive": ("Show sensitive attributes", "显示敏感属性"),
    "learner.hidden": ("Hidden sensitive attributes", "已隐藏的敏感属性"),
    "learner.timeline": ("History", "学习历史"),
    "learner.stored_events": ("Events stored through the API, newest first",
                              "通过接口保存的事件（最新在前）"),
    "learner.no_events": ("No events stored through the API.", "没有通过接口保存的事件。"),
    "learner.when": ("when", "时间"),
    "learner.event": ("event", "事件"),
    "learner.trained": ("In the model's training data (strongest first)",
                        "模型训练数据中的记录（强度从高到低）"),
    "learner.confidence": ("confidence", "置信度"),
    "learner.list": ("Current delivery list", "当前推荐列表"),
    "learner.cold_start": ("Placed by", "定位方式"),
    "learner.plan": ("Plan (3 hours a week, 4 weeks)", "学习计划（每周3小时，共4周）"),
    "learner.week": ("start week", "开始周"),
    "learner.minutes": ("minutes", "分钟"),
    "learner.credit": ("credit hours", "学分学时"),
    "learner.plan_total": ("Planned minutes / budget", "计划分钟 / 预算"),
    "learner.shortfall": ("Credit shortfall", "学分缺口"),
    "learner.empty_plan": ("Nothing could be planned.", "无法制定计划。"),
    "learner.ledger": ("Credit ledger", "学分账本"),
    "learner.why_not": ("Why not this resource?", "为什么没有推荐这个资源？"),
    "learner.resource_id": ("Resource id", "资源编号"),
    "learner.ask": ("Explain", "解释"),
    "learner.unknown": ("Unknown learner.", "未知学习者。"),
    "why.unknown": ("No such resource is served.", "没有这个资源。"),
    "why.withdrawn": ("It was withdrawn through the API.", "该资源已通过接口下架。"),
    "why.excluded": ("The request excluded it.", "请求中排除了该资源。"),
    "why.done": ("The learner is done with it (completed or dismissed).",
                 "学习者已完成或不感兴趣。"),
    "why.closed": ("It is not open now.", "该资源当前未开放。"),
    "why.filtered": ("It is filtered out by:", "被以下条件过滤："),
    "why.same_title": ("A better-scored resource with the same title is listed instead.",
                       "列表中已有同名且得分更高的资源。"),
    "why.ranked_lower": ("It is allowed but ranked lower: rank {rank} of {n} (the list shows {k}).",
                         "该资源可推荐，但排名较低：第 {rank} 名，共 {n} 个（列表显示前 {k} 个）。"),
    "why.listed": ("It is in the list: rank {rank} of {n}.", "已在列表中：第 {rank} 名，共 {n} 个。"),
    "equity.title": ("Equal service", "公平服务"),
    "equity.source": ("Accuracy by learner group from the validation of the served model",
                      "按学习者群体的准确度（来自当前模型的验证）"),
    "equity.no_run": ("The served model's MLflow run has no group breakdown.",
                      "当前模型的 MLflow 运行没有分组结果。"),
    "equity.attribute": ("attribute", "属性"),
    "equity.metric": ("metric", "指标"),
    "equity.mean": ("mean", "平均值"),
    "equity.too_small": ("too few learners to judge", "人数过少，无法判断"),
    "equity.gaps": ("Best-worst gaps", "最好与最差群体的差距"),
    "equity.best": ("best group", "最好群体"),
    "equity.worst": ("worst group", "最差群体"),
    "equity.gap": ("gap", "差距"),
    "equity.exposure": ("Exposure against catalog share", "曝光占比与目录占比"),
    "equity.exposure_note": ("Current lists of {n} learners of the model, top {k}.",
                             "模型中 {n} 名学习者的当前列表，前 {k} 个。"),
    "equity.slot_share": ("share of list slots", "列表位置占比"),
    "equity.catalog_share": ("share of the catalog", "目录占比"),
    "equity.served": ("Served lists: local resources by learner group",
                      "已推送的列表：各学习者群体的本地资源占比"),
    "equity.served_note": ("Every list the API answered since its workers started. A group is "
                           "flagged when local (in-person, nearby) resources get less than {ratio} "
                           "of their share of what its learners can reach.",
                           "接口启动以来推送的全部列表。当本地（线下、附近）资源在某群体列表中的占比"
                           "低于其可及资源占比的 {ratio} 时，该群体被标记。"),
    "equity.lists": ("lists", "列表数"),
    "equity.local_share": ("local share of slots", "本地资源位置占比"),
    "equity.reachable_share": ("local share of reachable", "可及资源中的本地占比"),
    "equity.ratio": ("ratio", "比值"),
    "equity.flagged": ("flagged", "已标记"),
    "equity.no_served": ("No list served yet.", "尚未推送任何列表。"),
    "equity.no_flags": ("No group is flagged.", "没有群体被标记。"),
    "equity.flag_count": ("{n} flag(s): see the marked groups.", "{n} 项警示：见已标记的群体。"),
    "equity.served_share": ("share of served slots", "已推荐位置占比"),
    "equity.served_title": ("{attribute}: served so far", "{attribute}：迄今推荐"),
    "learner.year": ("year", "年度"),
    "learner.required": ("required", "要求"),
    "learner.earned": ("earned", "已获得"),
    "learner.platform": ("on the platform", "平台学习"),
    "learner.recognised": ("recognised outside", "外部认定"),
    "learner.earned_on": ("earned on", "获得日期"),
    "learner.kind": ("kind", "类型"),
    "learner.no_ledger": ("The credit ledger cannot be read now.", "暂时无法读取学分账本。"),
    "learner.no_entries": ("No credit earned this year.", "本年度尚未获得学分。"),
    "attr.group": ("learner group", "学习者群体"),
    "attr.age_band": ("age band", "年龄段"),
    "attr.urban_rural": ("urban / rural", "城乡"),
    "attr.accessibility_needs": ("accessibility need (any)", "无障碍需求（任一）"),
    "attr.accessibility_need": ("accessibility need", "无障碍需求"),
    "attr.provider_type": ("provider type", "提供方类型"),
    "attr.mode": ("mode", "学习方式"),
    "catalog.title": ("Catalog and demand gaps", "资源缺口与需求"),
    "catalog.coverage": ("Coverage", "覆盖情况"),
    "catalog.days": ("Days", "天数"),
    "catalog.never": ("{n} of {open} open resources were never recommended in the last {days} "
                      "days.",
                      "最近 {days} 天内，{open} 个开放资源中有 {n} 个从未被推荐。"),
    "catalog.first_never": ("The first of them", "其中前若干个"),
    "catalog.demand": ("Stated interests no open resource serves well",
                       "没有开放资源能很好满足的学习兴趣"),
    "catalog.demand_note": ("Interests from profiles and anonymous requests; served means an "
                            "open resource the learner may take matches at least {threshold}.",
                            "兴趣来自学习者档案和匿名请求；“满足”指学习者可以学习的开放资源匹配度至少为 {threshold}。"),
    "catalog.shown": ("{unmet} of {stated} stated interests are unmet, in {n} region and group "
                      "pairs; the {shown} with the most unmet are shown.",
                      "{stated} 条学习兴趣中有 {unmet} 条未满足，分布在 {n} 个地区与群体组合中；"
                      "下表列出未满足最多的 {shown} 个。"),
    "catalog.region": ("region", "地区"),
    "catalog.group": ("learner group", "学习者群体"),
    "catalog.stated": ("stated", "提出"),
    "catalog.unmet": ("unmet", "未满足"),
    "catalog.examples": ("examples", "示例"),
    "catalog.best_match": ("best match", "最佳匹配"),
    "catalog.anonymous": ("anonymous request", "匿名请求"),
    "catalog.no_gaps": ("Every stated interest is served.", "所有兴趣都已被满足。"),
    "models.title": ("Registered models", "已注册模型"),
    "models.aliases": ("aliases", "别名"),
    "models.worse": ("worse than production", "比生产版本差"),
    "models.promote": ("Promote", "升级"),
    "models.alias": ("Alias", "别名"),
    "models.refused": ("Promotion refused:", "升级被拒绝："),
    "models.confirm": ("Type the version number to promote it anyway", "输入版本号以强制升级"),
    "models.force": ("Promote anyway", "强制升级"),
    "models.done": ("{alias} now points at version {version}.", "{alias} 现在指向版本 {version}。"),
    "models.reload": ("The server keeps serving its bundle until an admin reload.",
                      "在管理员重新加载之前，服务器继续使用当前模型包。"),
    "models.admin_only": ("Only an administrator may promote.", "只有管理员可以升级模型。"),
    "models.confirm_wrong": ("The confirmation did not match the version.", "确认内容与版本号不符。"),
    "models.none": ("No registered versions.", "没有已注册的版本。"),
    "experiments.title": ("Experiments", "实验"),
    "experiments.plots": ("plots", "图表"),
    "experiments.none": ("No runs in MLflow.", "MLflow 中没有运行记录。"),
}

# Known data values, by kind; anything else is shown as stored.
VALUES: dict[str, dict[str, tuple[str, str]]] = {
    "group": {
        "employee": ("employee", "在职职工"), "rural_resident": ("rural resident", "农村居民"),
        "migrant_worker": ("migrant worker", "进城务工人员"), "unemployed": ("unemployed", "失业人员"),
        "retiree": ("retiree", "退休人员"), "disabled": ("person with a disability", "残障人士"),
        "veteran": ("veteran", "退役军人"), "youth": ("youth", "青年"),
    },
    "field": {
        "group": ("learner group", "学习者群体"), "age_band": ("age band", "年龄段"),
        "region": ("region", "地区"), "urban_rural": ("urban / rural", "城乡"),
        "education_level": ("education", "受教育程度"), "languages": ("languages", "语言"),
        "accessibility_needs": ("accessibility needs", "无障碍需求"),
        "interests": ("stated interests", "学习兴趣"), "occupation": ("occupation", "职业"),
        "credit_hours_required": ("credit hours required", "需修学分学时"),
        "weekly_hours": ("hours a week", "每周学时"), "gender": ("gender", "性别"),
        "disability": ("disability", "残障"), "imd_band": ("deprivation band", "贫困程度分段"),
        "created_at": ("joined", "注册时间"),
    },
    "event": {
        "view": ("viewed", "浏览"), "progress": ("progressed", "学习进度"),
        "complete": ("completed", "完成"),
        "rate": ("rated", "评分"), "bookmark": ("bookmarked", "收藏"),
        "dismiss": ("dismissed", "不感兴趣"), "enroll": ("enrolled", "报名"),
    },
    "mode": {"online": ("online", "线上"), "offline": ("offline", "线下"),
             "blended": ("blended", "混合式")},
    "provider_type": {
        "open_university": ("open university", "开放大学"),
        "community_college": ("community college", "社区学院"),
        "community_school": ("community school", "社区学校"),
        "vocational_school": ("vocational school", "职业学校"),
        "enterprise": ("enterprise", "企业"), "library_museum": ("library or museum", "图书馆或博物馆"),
    },
    "category": {
        "vocational_skills": ("vocational skills", "职业技能"),
        "digital_literacy": ("digital literacy", "数字素养"),
        "agricultural_technology": ("agricultural technology", "农业技术"),
        "health_elderly_care": ("health and elderly care", "健康与养老"),
        "literacy": ("literacy", "读写能力"), "law_civics": ("law and civics", "法律与公民"),
        "culture_leisure": ("culture and leisure", "文化休闲"),
        "family_education": ("family education", "家庭教育"),
        "entrepreneurship": ("entrepreneurship", "创业"),
    },
    "education_level": {
        "primary": ("primary school", "小学"), "junior_secondary": ("junior secondary", "初中"),
        "senior_secondary": ("senior secondary", "高中"), "vocational": ("vocational", "职业教育"),
        "associate": ("associate degree", "大专"), "bachelor": ("bachelor", "本科"),
        "postgraduate": ("postgraduate", "研究生"),
    },
    "accessibility_needs": {"any_need": ("has a need", "有无障碍需求"),
                            "no_need": ("no need", "无无障碍需求"),
                            "(missing)": ("not recorded", "未记录")},
    "accessibility_need": {
        "captions": ("captions", "字幕"), "sign_language": ("sign language", "手语"),
        "audio": ("audio", "音频"), "screen_reader": ("screen reader", "读屏软件"),
        "large_print": ("large print", "大字版"), "easy_read": ("easy read", "易读版"),
    },
    "urban_rural": {"urban": ("urban", "城镇"), "rural": ("rural", "农村")},
    "run_status": {"FINISHED": ("finished", "已完成"), "RUNNING": ("running", "运行中"),
                   "FAILED": ("failed", "失败"), "KILLED": ("killed", "已终止"),
                   "SCHEDULED": ("scheduled", "已排期")},
    "credit_kind": {"completion": ("completed on the platform", "平台完成"),
                    "recognised": ("recognised", "外部认定")},
    "cold_start": {"fold_in": ("recent events (fold-in)", "近期行为（增量计算）"),
                   "profile": ("profile", "档案"), "": ("trained vector", "训练向量")},
    "constraint": {
        "learner_place": ("the learner's place (in person too far)", "学习者所在地（线下课程太远）"),
        "learner_language": ("the learner's languages", "学习者的语言"),
        "learner_access": ("the learner's accessibility needs", "学习者的无障碍需求"),
        "category": ("category filter", "类别筛选"), "language": ("language filter", "语言筛选"),
        "mode": ("mode filter", "学习方式筛选"), "region": ("region filter", "地区筛选"),
        "max_duration_minutes": ("duration filter", "时长筛选"),
        "level": ("level filter", "难度筛选"), "accessibility": ("accessibility filter", "无障碍筛选"),
        "provider_type": ("provider type filter", "提供方类型筛选"),
        "candidates": ("the evaluation's candidates", "评估候选集"),
    },
}


def choose_language(query_lang: str | None, accept_language: str | None) -> str:
    """``?lang=`` when it names a language we have, else the best ``Accept-Language`` match."""
    if query_lang in LANGUAGES:
        return query_lang  # type: ignore[return-value]
    best, best_q = DEFAULT, -1.0
    for position, part in enumerate((accept_language or "").split(",")):
        tag, _, params = part.strip().partition(";")
        base = tag.strip().lower().split("-")[0]
        if base not in LANGUAGES:
            continue
        q = 1.0
        if params.strip().startswith("q="):
            try:
                q = float(params.strip()[2:])
            except ValueError:
                q = 0.0
        if q > best_q:
            best, best_q = base, q
    return best


def translator(lang: str) -> Callable[..., str]:
    column = LANGUAGES.index(lang)

    def t(key: str, **values: object) -> str:
        text = MESSAGES[key][column]  # KeyError: a label without a translation is a bug
        return text.format(**values) if values else text

    return t


def value_translator(lang: str) -> Callable[[str, object], str]:
    column = LANGUAGES.index(lang)

    def v(kind: str, value: object) -> str:
        found = VALUES.get(kind, {}).get("" if value is None else str(value))
        return found[column] if found else ("" if value is None else str(value))

    return v
