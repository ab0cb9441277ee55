//! The identifier kinds of DESIGN §3.

use crate::{Id, IdKind};

macro_rules! kinds {
    ($($kind:ident $alias:ident $prefix:literal;)*) => {$(
        #[derive(Debug)]
        pub struct $kind;
        impl IdKind for $kind {
            const PREFIX: &'static str = $prefix;
        }
        pub type $alias = Id<$kind>;
    )*};
}

kinds! {
    AgentKind AgentId "ag_";
    ReceiptKind ReceiptId "rcpt_";
    EventKind EventId "evt_";
    KeyKind KeyId "key_";
    AccountKind AccountId "acct_";
    DelegationKind DelegationId "del_";
    ChainKind ChainId "chain_";
    WebhookKind WebhookId "wh_";
    ExportKind ExportId "export_";
    TokenKind TokenId "tok_";
    VouchKind VouchId "vch_";
    // An outbox event: the `webhook-id` of each of its deliveries.
    MessageKind MessageId "msg_";
}
