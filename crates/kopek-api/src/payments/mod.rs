//! Payment providers calling Kopek: `POST /payments/callback/{provider}`, for a
//! provider that signs its callbacks (see [`callback`]). Test-mode card payments
//! on the hosted page are `kopek_core::test_cards`; real acquirers (YooKassa)
//! notify through `kopek_core::acquiring`.

pub mod callback;
