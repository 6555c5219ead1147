//! Why an approval did not happen. Every variant refuses the COMMIT and leaves the
//! transaction open; each message is one line the author can act on.

/// An approval that did not happen.
#[derive(Debug, thiserror::Error)]
pub enum ApprovalError {
    /// The service could not be reached.
    #[error(
        "approval service {url} is unreachable ({reason}); check approval.url, or ask its operator"
    )]
    Unreachable {
        /// The address.
        url: String,
        /// What failed.
        reason: String,
    },
    /// The service did not answer in time.
    #[error("approval service {url} did not answer within {secs} s; try COMMIT again, or ask its operator")]
    Slow {
        /// The address.
        url: String,
        /// The time allowed.
        secs: u64,
    },
    /// The service answered with an HTTP error.
    #[error("approval service answered HTTP {status}: {message}")]
    Http {
        /// The status code.
        status: u16,
        /// The service's own words, or a summary.
        message: String,
    },
    /// The service redirected; pgward follows no redirects from it.
    #[error("approval service redirected to {to}; pgward follows no redirects: set approval.url to the service's own address")]
    Redirect {
        /// Where to.
        to: String,
    },
    /// The answer was larger than any valid answer.
    #[error(
        "approval service sent more than {limit} bytes; that is no valid answer, ask its operator"
    )]
    TooLarge {
        /// The limit.
        limit: usize,
    },
    /// The answer was not the JSON the protocol defines.
    #[error("approval service sent no valid protocol-v1 answer ({0}); check approval.url points at a pgward approval service")]
    Malformed(String),
    /// The reviewer rejected the change.
    #[error("{reviewer} rejected the change: {reason}")]
    Rejected {
        /// Who.
        reviewer: String,
        /// Why.
        reason: String,
    },
    /// The request lapsed at the service.
    #[error("the approval request expired before anyone decided; COMMIT asks again")]
    Expired,
    /// The shell stopped waiting.
    #[error(
        "no decision within {0}; COMMIT asks again (raise approval.wait if reviews take longer)"
    )]
    TimedOut(String),
    /// Ctrl-C while waiting.
    #[error("stopped waiting for approval (Ctrl-C)")]
    Interrupted,
    /// The token is not the service's signature over what was sent.
    #[error("the approval token does not verify against approval.public_key: not the configured service's approval of this change")]
    BadToken,
    /// The answer is about something else than what was sent.
    #[error("the approval is for another {0} than this change")]
    Mismatch(&'static str),
    /// The approval came after its expiry.
    #[error("the approval arrived after the request expired ({0})")]
    Late(String),
    /// The author approved their own change.
    #[error("{0} approved their own change: a second person must approve")]
    SelfApproval(String),
    /// The reviewer is not on the allow-list.
    #[error("{0} is not on this environment's approval.reviewers list")]
    NotAllowed(String),
    /// Three wrong codes.
    #[error("wrong approval code three times")]
    WrongCode,
    /// Nobody could type the code.
    #[error("no terminal to type the approval code at (set require_code = false to let a verified token suffice for scripts)")]
    NoTerminal,
    /// The author's credential is missing.
    #[error("{0}")]
    Credential(String),
    /// The effect changed after it was approved.
    #[error("the change differs from what was approved ({0})")]
    Changed(String),
}
