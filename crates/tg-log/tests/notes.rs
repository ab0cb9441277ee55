//! Signed notes against the C2SP signed-note example, and checkpoints and cosignatures
//! through sign → parse → verify.

use tg_log::note::{generate_key, vkey};
use tg_log::{Checkpoint, Cosigner, Note, NoteSigner, Verifier};

/// The example of the signed-note specification (and Go's `sumdb/note`).
const SPEC_VKEY: &str = "example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k";
const SPEC_NOTE: &str = "This is an example message.\n\n\u{2014} example.com/foo Uw2QOkn8srV1yJGh2VYRlL1Tnagv1YEq6TfXppzi2ONncAlTgK7Ztg1ERYNZXsYjOBH3mFXmRKuwHjG1Yu72IneyaQM=\n";

#[test]
fn the_specification_example_verifies() {
    let v = Verifier::parse(SPEC_VKEY);
    let Ok(v) = v else { unreachable!("{v:?}") };
    assert_eq!(v.vkey(), SPEC_VKEY);
    let note = Note::parse(SPEC_NOTE);
    let Ok(note) = note else {
        unreachable!("{note:?}")
    };
    assert_eq!(note.text, "This is an example message.\n");
    assert!(note.verify(std::slice::from_ref(&v)).is_ok());
    let forged = SPEC_NOTE.replace("example message", "exemplary message");
    let forged = Note::parse(&forged);
    assert!(forged.is_ok_and(|n| n.verify(&[v]).is_err()));
}

#[test]
fn a_vkey_whose_id_does_not_match_its_key_is_refused() {
    let wrong = SPEC_VKEY.replace("530d903a", "530d903b");
    assert!(Verifier::parse(&wrong).is_err());
    assert!(Verifier::parse("no-plus-signs").is_err());
}

fn signer(name: &str) -> NoteSigner {
    let key = generate_key().unwrap_or_default();
    let s = NoteSigner::from_pkcs8(name, &key);
    let Ok(s) = s else { unreachable!("{s:?}") };
    s
}

#[test]
fn checkpoints_sign_parse_and_verify() {
    let log = signer("gateway.example/log");
    let cp = Checkpoint {
        origin: "gateway.example/log".into(),
        size: 20_852_163,
        root: [7; 32],
    };
    let note = log.sign(&cp.body()).unwrap_or_default();
    assert!(note.starts_with("gateway.example/log\n20852163\nBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwc=\n\n\u{2014} gateway.example/log "));
    let parsed = Note::parse(&note).unwrap_or_else(|e| unreachable!("{e}"));
    assert_eq!(Checkpoint::parse(&parsed.text), Ok(cp));
    let v = Verifier::parse(&log.vkey()).unwrap_or_else(|e| unreachable!("{e}"));
    assert!(parsed.verify(&[v]).is_ok());
    // Another key of the same name is not this log.
    let other = Verifier::parse(&signer("gateway.example/log").vkey())
        .unwrap_or_else(|e| unreachable!("{e}"));
    assert!(parsed.verify(&[other]).is_err());
}

#[test]
fn cosignatures_verify_with_their_time() {
    let log = signer("gateway.example/log");
    let body = Checkpoint {
        origin: "gateway.example/log".into(),
        size: 3,
        root: [1; 32],
    }
    .body();
    let key = generate_key().unwrap_or_default();
    let witness =
        Cosigner::from_pkcs8("witness.example/w1", &key).unwrap_or_else(|e| unreachable!("{e}"));
    let mut note = log.sign(&body).unwrap_or_default();
    note.push_str(&witness.cosign(&body, 1_679_315_147));
    let parsed = Note::parse(&note).unwrap_or_else(|e| unreachable!("{e}"));
    let w = Verifier::parse(&witness.vkey()).unwrap_or_else(|e| unreachable!("{e}"));
    assert_eq!(w.kind, 0x04);
    let ok = parsed.verify(std::slice::from_ref(&w)).unwrap_or_default();
    assert_eq!(ok.first().and_then(|v| v.timestamp), Some(1_679_315_147));
    // A cosignature over another tree does not verify.
    let other = Checkpoint {
        origin: "gateway.example/log".into(),
        size: 4,
        root: [1; 32],
    }
    .body();
    let mut moved = log.sign(&other).unwrap_or_default();
    moved.push_str(&witness.cosign(&body, 1_679_315_147));
    assert!(Note::parse(&moved).is_ok_and(|n| n.verify(&[w]).is_err()));
    // The vkey form of a cosigner key uses type 0x04.
    assert!(witness.vkey().starts_with("witness.example/w1+"));
    assert_ne!(witness.vkey(), vkey("witness.example/w1", 0x01, &[0; 32]));
}

#[test]
fn malformed_notes_and_checkpoints_are_refused() {
    for bad in [
        "no blank line\n\u{2014} a AAAA\n",
        "text\n\n",
        "text\n\n-- a AAAAAAAA\n",
        "text\n\n\u{2014} a not*base64\n",
    ] {
        assert!(Note::parse(bad).is_err(), "{bad:?}");
    }
    for bad in ["o\n01\nAAAA\n", "o\n-1\n", "\n1\n", "o\n1\nshort\n"] {
        assert!(Checkpoint::parse(bad).is_err(), "{bad:?}");
    }
}
