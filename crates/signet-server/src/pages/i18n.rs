//! The interface's words, in English and Chinese. The letters themselves keep their own
//! language; only what the pages say around them is translated.

use axum::http::HeaderMap;
use axum::http::header::ACCEPT_LANGUAGE;

/// An interface language.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Lang {
    En,
    Zh,
}

impl Lang {
    /// The BCP 47 tag, for `lang` attributes and `?lang=`.
    pub(crate) fn tag(self) -> &'static str {
        match self {
            Lang::En => "en",
            Lang::Zh => "zh",
        }
    }

    /// `?lang=` if given, else the best match in `Accept-Language`, else English.
    pub(crate) fn choose(param: Option<Lang>, headers: &HeaderMap) -> Lang {
        if let Some(lang) = param {
            return lang;
        }
        let Some(header) = headers.get(ACCEPT_LANGUAGE).and_then(|v| v.to_str().ok()) else {
            return Lang::En;
        };
        // `zh-CN, en;q=0.8`: the highest q among the languages we speak wins; ties go
        // to the one listed first.
        let mut best: Option<(u32, Lang)> = None;
        for item in header.split(',') {
            let mut parts = item.split(';');
            let tag = parts.next().unwrap_or("").trim().to_ascii_lowercase();
            let q = parts
                .find_map(|p| p.trim().strip_prefix("q="))
                .map_or(1000, |q| {
                    q.trim()
                        .parse::<f32>()
                        .map_or(0, |q| (q.clamp(0.0, 1.0) * 1000.0) as u32)
                });
            let primary = tag.split('-').next().unwrap_or("");
            let lang = match primary {
                "zh" => Lang::Zh,
                "en" => Lang::En,
                _ => continue,
            };
            if q > 0 && best.is_none_or(|(b, _)| q > b) {
                best = Some((q, lang));
            }
        }
        best.map_or(Lang::En, |(_, l)| l)
    }

    /// The `?lang=` value, if it is one we speak.
    pub(crate) fn parse(s: &str) -> Option<Lang> {
        match s {
            "en" => Some(Lang::En),
            "zh" => Some(Lang::Zh),
            _ => None,
        }
    }

    /// The words of this language.
    pub(crate) fn ui(self) -> &'static Ui {
        match self {
            Lang::En => &EN,
            Lang::Zh => &ZH,
        }
    }
}

/// Every fixed phrase the pages use.
#[derive(Debug)]
pub(crate) struct Ui {
    pub site: &'static str,
    pub skip: &'static str,
    pub letters: &'static str,
    pub letters_intro: &'static str,
    pub letter_id: &'static str,
    pub source: &'static str,
    pub signers_now: &'static str,
    pub withdrawn: &'static str,
    pub hidden: &'static str,
    pub signers: &'static str,
    pub search: &'static str,
    pub search_label: &'static str,
    pub search_button: &'static str,
    pub show: &'static str,
    pub show_active: &'static str,
    pub show_withdrawn: &'static str,
    pub results_for: &'static str,
    pub no_signers: &'static str,
    pub next_page: &'static str,
    pub first_page: &'static str,
    pub hidden_line: &'static str,
    /// The same line when one signer is hidden.
    pub hidden_line_one: &'static str,
    pub hidden_link: &'static str,
    pub hidden_mark: &'static str,
    pub registered_in: &'static str,
    pub fingerprint: &'static str,
    pub time: &'static str,
    pub entry: &'static str,
    pub verified_badge: &'static str,
    pub self_asserted: &'static str,
    pub withdrawn_mark: &'static str,
    pub sign_title: &'static str,
    pub sign_intro: &'static str,
    pub sign_step_key: &'static str,
    pub sign_step_sign: &'static str,
    pub sign_step_submit: &'static str,
    pub sign_step_verify: &'static str,
    pub sign_forever: &'static str,
    pub hides_title: &'static str,
    pub hides_intro: &'static str,
    pub no_hides: &'static str,
    pub reason: &'static str,
    pub note: &'static str,
    pub moderator: &'static str,
    pub target: &'static str,
    pub moderators: &'static str,
    pub no_moderators: &'static str,
    pub back_to_letter: &'static str,
    pub entry_title: &'static str,
    pub kind: &'static str,
    pub kinds: [(&'static str, &'static str); 5],
    pub status: &'static str,
    pub status_shown: &'static str,
    pub status_superseded: &'static str,
    pub status_withdrawn: &'static str,
    pub status_hidden: &'static str,
    pub status_signer_now: &'static str,
    pub see_entry: &'static str,
    pub claims: &'static str,
    pub claim_verified: &'static str,
    pub claim_unverified: &'static str,
    pub checked: &'static str,
    pub evidence: &'static str,
    pub fields: &'static str,
    pub field_names: [(&'static str, &'static str); 9],
    pub leaf_hash: &'static str,
    pub signed_note: &'static str,
    pub proof: &'static str,
    pub proof_intro: &'static str,
    pub checkpoint: &'static str,
    pub letter_text: &'static str,
    pub verify_title: &'static str,
    pub verify_pending: &'static str,
    pub verify_valid: &'static str,
    pub verify_invalid: &'static str,
    pub verify_nojs: &'static str,
    pub cosigners: &'static str,
    pub no_cosigners: &'static str,
    /// A group of the witness quorum: `{k}` of its `{n}` members, listed after it.
    pub quorum_rule: &'static str,
    /// A group that needs all its `{n}` members.
    pub quorum_all: &'static str,
    /// A group that needs any one of its `{n}` members.
    pub quorum_any: &'static str,
    /// Between the items of a list in a sentence.
    pub list_sep: &'static str,
    pub footer_log: &'static str,
    pub origin: &'static str,
    pub vkey: &'static str,
    pub size: &'static str,
    pub witnesses: &'static str,
    pub no_witnesses: &'static str,
    pub audit: &'static str,
    pub api: &'static str,
    pub language: &'static str,
    pub not_found: &'static str,
    pub error: &'static str,
}

impl Ui {
    /// The word for an entry kind (`endorsement`, ...).
    pub(crate) fn kind_name(&self, kind: &str) -> String {
        self.kinds
            .iter()
            .find(|(k, _)| *k == kind)
            .map_or_else(|| kind.to_owned(), |(_, v)| (*v).to_owned())
    }

    /// The label of an entry field (`name`, ...).
    pub(crate) fn field_name(&self, field: &str) -> String {
        self.field_names
            .iter()
            .find(|(k, _)| *k == field)
            .map_or_else(|| field.to_owned(), |(_, v)| (*v).to_owned())
    }
}

static EN: Ui = Ui {
    site: "Signet",
    skip: "Skip to the content",
    letters: "Letters",
    letters_intro: "Open letters hosted by this registry. Every signature is a signed entry in a public, append-only log.",
    letter_id: "Letter ID",
    source: "Source",
    signers_now: "signers",
    withdrawn: "withdrawn",
    hidden: "hidden",
    signers: "Signers",
    search: "Search signers",
    search_label: "Name or affiliation",
    search_button: "Search",
    show: "Show",
    show_active: "signers now",
    show_withdrawn: "withdrawn signers",
    results_for: "Signers matching",
    no_signers: "No signer matches.",
    next_page: "Next page",
    first_page: "First page",
    hidden_line: "signers are hidden from this list by moderators.",
    hidden_line_one: "signer is hidden from this list by a moderator.",
    hidden_link: "See every hide and its reason",
    hidden_mark: "hidden",
    registered_in: "Registered in",
    fingerprint: "key",
    time: "Time",
    entry: "Entry",
    verified_badge: "verified",
    self_asserted: "Names are what each signer claims; a badge means a claim was checked.",
    withdrawn_mark: "withdrawn",
    sign_title: "Sign this letter",
    sign_intro: "With the signet command line, from a folder of your choice:",
    sign_step_key: "Make a key (it asks for a passphrase):",
    sign_step_sign: "Sign the letter, by its ID:",
    sign_step_submit: "Send the signature to this registry; it saves the log's proof:",
    sign_step_verify: "Check it offline, whenever you like:",
    sign_forever: "A signature stays in the public log forever: withdrawing adds an entry, it never erases one.",
    hides_title: "Hidden signers",
    hides_intro: "Moderators hide impersonations, spam and abuse from the list. A hide never removes anything from the log: each one is here, with its reason.",
    no_hides: "No signer is hidden.",
    reason: "Reason",
    note: "Note",
    moderator: "Moderator",
    target: "Signer's entry",
    moderators: "Moderators",
    no_moderators: "This log has appointed no moderator.",
    back_to_letter: "Back to the letter",
    entry_title: "Entry",
    kind: "Kind",
    kinds: [
        ("letter", "letter registration"),
        ("endorsement", "endorsement"),
        ("withdrawal", "withdrawal"),
        ("moderator", "moderator appointment"),
        ("moderation", "moderation"),
    ],
    status: "Status",
    status_shown: "Shown: this endorsement is in force.",
    status_superseded: "Replaced: the signer endorsed the letter again later.",
    status_withdrawn: "Withdrawn by the signer.",
    status_hidden: "Hidden by a moderator.",
    status_signer_now: "The signer's entry in force now:",
    see_entry: "entry",
    claims: "Identity claims",
    claim_verified: "verified",
    claim_unverified: "not verified: the signer's own claim",
    checked: "checked",
    evidence: "evidence",
    fields: "Fields",
    field_names: [
        ("letter", "Letter"),
        ("slug", "Slug"),
        ("title", "Title"),
        ("language", "Language"),
        ("name", "Name"),
        ("affiliation", "Affiliation"),
        ("role", "Role"),
        ("time", "Time"),
        ("key", "Key"),
    ],
    leaf_hash: "Leaf hash",
    signed_note: "The signed note",
    proof: "Inclusion proof",
    proof_intro: "The entry's index and the hashes from its leaf to the checkpoint's root (c2sp.org/tlog-proof).",
    checkpoint: "Checkpoint",
    letter_text: "The letter's text",
    verify_title: "Checked in your browser",
    verify_pending: "Checking…",
    verify_valid: "Valid: every check passed.",
    verify_invalid: "Invalid",
    verify_nojs: "This check runs in your browser and needs JavaScript. Without it, check the entry with `signet verify`.",
    cosigners: "Witnesses whose cosignature is required",
    no_cosigners: "none",
    quorum_rule: "{k} of these {n}: ",
    quorum_all: "all {n} of these: ",
    quorum_any: "any one of these {n}: ",
    list_sep: ", ",
    footer_log: "This log",
    origin: "Origin",
    vkey: "Verifier key",
    size: "Entries",
    witnesses: "Witnesses",
    no_witnesses: "none",
    audit: "Audit the whole log yourself:",
    api: "JSON API",
    language: "Language",
    not_found: "Not found",
    error: "Error",
};

static ZH: Ui = Ui {
    site: "Signet",
    skip: "跳到正文",
    letters: "公开信",
    letters_intro: "本登记处收录的公开信。每个签名都是公开、只增不改的日志中的一条签名记录。",
    letter_id: "信件 ID",
    source: "来源",
    signers_now: "位签名人",
    withdrawn: "位已撤回",
    hidden: "位被隐藏",
    signers: "签名人",
    search: "搜索签名人",
    search_label: "姓名或单位",
    search_button: "搜索",
    show: "显示",
    show_active: "当前签名人",
    show_withdrawn: "已撤回的签名人",
    results_for: "匹配的签名人",
    no_signers: "没有匹配的签名人。",
    next_page: "下一页",
    first_page: "第一页",
    hidden_line: "位签名人被管理员从名单中隐藏。",
    hidden_line_one: "位签名人被管理员从名单中隐藏。",
    hidden_link: "查看每一次隐藏及其理由",
    hidden_mark: "已隐藏",
    registered_in: "登记于",
    fingerprint: "密钥",
    time: "时间",
    entry: "记录",
    verified_badge: "已验证",
    self_asserted: "姓名是签名人自己的声明；徽章表示某项身份声明已经过核验。",
    withdrawn_mark: "已撤回",
    sign_title: "签署这封信",
    sign_intro: "使用 signet 命令行，在您选择的文件夹中：",
    sign_step_key: "生成密钥（会询问口令）：",
    sign_step_sign: "按信件 ID 签署：",
    sign_step_submit: "把签名发送到本登记处；它会保存日志的证明：",
    sign_step_verify: "随时离线核验：",
    sign_forever: "签名会永久留在公开日志中：撤回只会新增一条记录，绝不会抹去原记录。",
    hides_title: "被隐藏的签名人",
    hides_intro: "管理员会从名单中隐藏冒名、垃圾和滥用的签名。隐藏从不删除日志中的任何内容：每一次隐藏都列在这里，并附有理由。",
    no_hides: "没有被隐藏的签名人。",
    reason: "理由",
    note: "说明",
    moderator: "管理员",
    target: "签名记录",
    moderators: "管理员",
    no_moderators: "本日志尚未任命管理员。",
    back_to_letter: "返回信件",
    entry_title: "记录",
    kind: "类型",
    kinds: [
        ("letter", "信件登记"),
        ("endorsement", "签名"),
        ("withdrawal", "撤回"),
        ("moderator", "任命管理员"),
        ("moderation", "管理操作"),
    ],
    status: "状态",
    status_shown: "显示中：此签名有效。",
    status_superseded: "已被取代：签名人之后再次签署了这封信。",
    status_withdrawn: "签名人已撤回。",
    status_hidden: "已被管理员隐藏。",
    status_signer_now: "签名人当前有效的记录：",
    see_entry: "记录",
    claims: "身份声明",
    claim_verified: "已验证",
    claim_unverified: "未验证：签名人自己的声明",
    checked: "核验于",
    evidence: "证据",
    fields: "字段",
    field_names: [
        ("letter", "信件"),
        ("slug", "短名"),
        ("title", "标题"),
        ("language", "语言"),
        ("name", "姓名"),
        ("affiliation", "单位"),
        ("role", "职务"),
        ("time", "时间"),
        ("key", "密钥"),
    ],
    leaf_hash: "叶哈希",
    signed_note: "签名原文",
    proof: "包含证明",
    proof_intro: "记录的序号，以及从叶节点到检查点根哈希的各个哈希（c2sp.org/tlog-proof）。",
    checkpoint: "检查点",
    letter_text: "信件全文",
    verify_title: "在您的浏览器中核验",
    verify_pending: "核验中…",
    verify_valid: "有效：所有检查均已通过。",
    verify_invalid: "无效",
    verify_nojs: "此核验在您的浏览器中运行，需要 JavaScript。没有 JavaScript 时，请用 `signet verify` 核验。",
    cosigners: "需要其联署的见证者",
    no_cosigners: "无",
    quorum_rule: "以下 {n} 个中的 {k} 个：",
    quorum_all: "以下 {n} 个全部：",
    quorum_any: "以下 {n} 个中任一个：",
    list_sep: "、",
    footer_log: "本日志",
    origin: "来源标识",
    vkey: "验证公钥",
    size: "记录数",
    witnesses: "见证者",
    no_witnesses: "无",
    audit: "自己审计整个日志：",
    api: "JSON 接口",
    language: "语言",
    not_found: "未找到",
    error: "错误",
};
