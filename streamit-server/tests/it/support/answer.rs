//! What the server answered, and assertions on it labelled with the backend and the request:
//! success bodies, the one error shape, single values and object shapes.

use reqwest::StatusCode;
use reqwest::header::{CONTENT_TYPE, HeaderMap};
use serde::de::DeserializeOwned;
use serde_json::Value;
use streamit_protocol::v1::{ErrorBody, ErrorCode};

/// What the server answered.
#[derive(Debug)]
pub(crate) struct Answer {
    /// `[backend] METHOD path`, for messages.
    pub(crate) what: String,
    pub(crate) status: StatusCode,
    pub(crate) headers: HeaderMap,
    pub(crate) text: String,
    /// The body as JSON; `Null` when it is not JSON.
    pub(crate) body: Value,
}

impl Answer {
    /// Checks a success: the status and a JSON body; returns the body.
    #[track_caller]
    pub(crate) fn ok(&self, status: StatusCode) -> &Value {
        assert_eq!(self.status, status, "{}: {}", self.what, self.text);
        assert!(
            self.is_json(),
            "{}: content type {:?}",
            self.what,
            self.headers.get(CONTENT_TYPE)
        );
        &self.body
    }

    /// Checks the status alone (for bodies that are not JSON, such as a 204's).
    #[track_caller]
    pub(crate) fn expect(&self, status: StatusCode) -> &Self {
        assert_eq!(self.status, status, "{}: {}", self.what, self.text);
        self
    }

    /// Checks one value of the body, by JSON pointer (`/user/display_name`).
    #[track_caller]
    pub(crate) fn has(&self, pointer: &str, expected: impl Into<Value>) -> &Self {
        let found = self.body.pointer(pointer).unwrap_or(&Value::Null);
        assert_eq!(
            found,
            &expected.into(),
            "{}: {pointer} in {}",
            self.what,
            self.text
        );
        self
    }

    /// Checks several values of the body at once: each key of `expected` (an object) holds
    /// the same value in the body; other keys of the body are not looked at.
    #[track_caller]
    pub(crate) fn fields(&self, expected: Value) -> &Self {
        self.fields_at("", expected)
    }

    /// [`Answer::fields`] of the object at `pointer`.
    #[track_caller]
    pub(crate) fn fields_at(&self, pointer: &str, expected: Value) -> &Self {
        let found = self.body.pointer(pointer).unwrap_or(&Value::Null);
        for (key, value) in expected.as_object().expect("an object of expected fields") {
            let what = &self.what;
            assert_eq!(
                found[key.as_str()],
                *value,
                "{what}: {pointer}/{key} in {}",
                self.text
            );
        }
        self
    }

    /// Checks the keys of the object at `pointer` (`""` for the body itself), sorted.
    #[track_caller]
    pub(crate) fn keys_at(&self, pointer: &str, expected: &[&str]) -> &Self {
        let found = self.body.pointer(pointer).unwrap_or(&Value::Null);
        assert_eq!(
            keys(found),
            expected,
            "{}: keys of {pointer:?} in {}",
            self.what,
            self.text
        );
        self
    }

    /// The body as a protocol type (the wire contract's own decoder).
    #[track_caller]
    pub(crate) fn parse<T: DeserializeOwned>(&self) -> T {
        serde_json::from_value(self.body.clone())
            .unwrap_or_else(|e| panic!("{}: body does not decode: {e}: {}", self.what, self.text))
    }

    /// Checks a failure: status, code, and the one error shape
    /// `{"error": {"code", "message", "details"?}}`; returns the `error` object.
    #[track_caller]
    pub(crate) fn error(&self, status: StatusCode, code: &str) -> &Value {
        assert_eq!(self.status, status, "{}: {}", self.what, self.text);
        self.assert_error_shape();
        assert_eq!(
            self.body["error"]["code"], code,
            "{}: {}",
            self.what, self.text
        );
        &self.body["error"]
    }

    /// Checks a failure whose field at fault is `field`.
    #[track_caller]
    pub(crate) fn invalid(&self, code: &str, field: &str) {
        let error = self.error(StatusCode::BAD_REQUEST, code);
        assert_eq!(
            error["details"]["field"], field,
            "{}: {}",
            self.what, self.text
        );
    }

    /// Checks the error shape whatever the status: a client error (never a 5xx), JSON, exactly
    /// `{"error": {...}}`, a known code whose status is this one, a message, details an object.
    #[track_caller]
    pub(crate) fn assert_error_shape(&self) {
        let what = &self.what;
        assert!(
            self.status.is_client_error(),
            "{what}: wanted a 4xx: {} {}",
            self.status,
            self.text
        );
        assert!(
            self.is_json(),
            "{what}: content type {:?}",
            self.headers.get(CONTENT_TYPE)
        );
        let outer = self
            .body
            .as_object()
            .unwrap_or_else(|| panic!("{what}: not an object: {}", self.text));
        assert_eq!(
            outer.keys().collect::<Vec<_>>(),
            ["error"],
            "{what}: {}",
            self.text
        );
        let error = self.body["error"].as_object().unwrap();
        for key in error.keys() {
            assert!(
                ["code", "message", "details"].contains(&key.as_str()),
                "{what}: extra key {key}"
            );
        }
        assert!(
            self.body["error"]["message"]
                .as_str()
                .is_some_and(|m| !m.is_empty()),
            "{what}: {}",
            self.text
        );
        if let Some(details) = error.get("details") {
            assert!(
                details.is_object(),
                "{what}: details must be an object: {}",
                self.text
            );
        }
        let parsed: ErrorBody = self.parse();
        assert_ne!(
            parsed.error.code,
            ErrorCode::Unknown,
            "{what}: unknown code: {}",
            self.text
        );
        assert_eq!(
            parsed.error.code.http_status(),
            self.status.as_u16(),
            "{what}: code and status disagree"
        );
    }

    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).map(|v| v.to_str().unwrap())
    }

    fn is_json(&self) -> bool {
        self.header(CONTENT_TYPE.as_str())
            .is_some_and(|v| v.starts_with("application/json"))
    }
}

/// The keys of a JSON object, sorted, to compare a shape with `assert_eq!`.
#[track_caller]
pub(crate) fn keys(value: &Value) -> Vec<&str> {
    let object = value
        .as_object()
        .unwrap_or_else(|| panic!("not an object: {value}"));
    let mut keys: Vec<&str> = object.keys().map(String::as_str).collect();
    keys.sort_unstable();
    keys
}

/// Field refusals that differ from what was expected, collected so that one run of a table
/// reports every row that differs, not just the first.
#[derive(Default)]
pub(crate) struct Refusals(Vec<String>);

impl Refusals {
    /// Expects a 400 with `code` and `details.field` = `field`; `input` labels the row.
    pub(crate) fn check(&mut self, answer: &Answer, input: &str, code: &str, field: &str) {
        let error = &answer.body["error"];
        let got = (
            answer.status,
            error["code"].as_str(),
            error["details"]["field"].as_str(),
        );
        if got == (StatusCode::BAD_REQUEST, Some(code), Some(field)) {
            answer.assert_error_shape();
        } else {
            let input: String = input.chars().take(100).collect();
            let wanted = format!("400 {code} field {field:?}");
            self.0.push(format!(
                "{} {input}\n    wanted {wanted}, got {}",
                answer.what, answer.text
            ));
        }
    }

    /// Fails listing every row that differed.
    #[track_caller]
    pub(crate) fn assert_none(self) {
        assert!(
            self.0.is_empty(),
            "{} refusal(s) differ:\n{}",
            self.0.len(),
            self.0.join("\n")
        );
    }
}
