"""An independent check of the gateway's transparency log, written from RFC 9162 (§2.1)
and the C2SP signed-note, tlog-checkpoint and tlog-tiles specifications. It shares no code
with the gateway: hashing, proof verification, note parsing and tile paths are all here.

usage: verify_log.py BASE_URL SEED
Reads the log over HTTP, recomputes every tree head from the entries, and checks the signed
checkpoint, the tiles, inclusion proofs for sizes 1..N and consistency proofs for every
pair up to 64. Exits non-zero on the first failure.
"""

import base64
import hashlib
import random
import sys

import httpx
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey


def sha256(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


def leaf_hash(entry: bytes) -> bytes:
    return sha256(b"\x00" + entry)


def node_hash(left: bytes, right: bytes) -> bytes:
    return sha256(b"\x01" + left + right)


def mth(leaves: list) -> bytes:
    """MTH(D[n]) of RFC 9162 §2.1.1, over leaf hashes, by its recursive definition."""
    n = len(leaves)
    if n == 0:
        return sha256(b"")
    if n == 1:
        return leaves[0]
    k = 1
    while k * 2 < n:
        k *= 2
    return node_hash(mth(leaves[:k]), mth(leaves[k:]))


def verify_inclusion(leaf: bytes, index: int, size: int, path: list, root: bytes) -> bool:
    """RFC 9162 §2.1.3.2."""
    if index >= size:
        return False
    fn, sn, r = index, size - 1, leaf
    for p in path:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            if not fn & 1:
                while fn != 0 and not fn & 1:
                    fn >>= 1
                    sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    return sn == 0 and r == root


def verify_consistency(first: int, second: int, first_root: bytes, second_root: bytes, path: list) -> bool:
    """RFC 9162 §2.1.4.2 (with the trivial cases: equal sizes, the empty tree)."""
    if first == second:
        return not path and first_root == second_root
    if first == 0:
        return not path
    if first & (first - 1) == 0:
        path = [first_root] + path
    if not path:
        return False
    fn, sn = first - 1, second - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            if not fn & 1:
                while fn != 0 and not fn & 1:
                    fn >>= 1
                    sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    return fr == first_root and sr == second_root and sn == 0


def parse_vkey(vkey: str):
    """C2SP signed-note verifier key: <name>+<hex key id>+<base64(type || key)>."""
    name, key_id, material = vkey.split("+", 2)
    material = base64.b64decode(material, validate=True)
    assert material[0] == 0x01, "an Ed25519 note key"
    public = material[1:]
    assert len(public) == 32
    expected = sha256(name.encode() + b"\n" + material)[:4]
    assert bytes.fromhex(key_id) == expected, "the key id is SHA-256(name || \\n || 0x01 || key)[:4]"
    return name, expected, Ed25519PublicKey.from_public_bytes(public)


def open_checkpoint(note: str, vkey: str):
    """Splits a signed note at its last blank line, verifies the signature line of the
    key, and reads origin, size and root."""
    name, key_id, public = parse_vkey(vkey)
    cut = note.rindex("\n\n")
    text, sigs = note[: cut + 1], note[cut + 2 :]
    found = False
    for line in sigs.splitlines():
        assert line.startswith("\u2014 "), repr(line)
        signer, b64 = line[2:].split(" ")
        raw = base64.b64decode(b64, validate=True)
        if signer == name and raw[:4] == key_id:
            public.verify(raw[4:], text.encode())  # raises on a bad signature
            found = True
    assert found, "no signature by the log's key"
    origin, size, root = text.split("\n")[:3]
    return origin, int(size), base64.b64decode(root, validate=True)


def tile_path(level, index: int, width: int) -> str:
    """tlog-tiles: N in zero-padded 3-digit elements, all but the last prefixed x."""
    groups = []
    while True:
        groups.append(index % 1000)
        index //= 1000
        if index == 0:
            break
    groups.reverse()
    parts = [f"x{g:03d}" for g in groups[:-1]] + [f"{groups[-1]:03d}"]
    suffix = f".p/{width}" if width < 256 else ""
    return f"tile/{level}/{'/'.join(parts)}{suffix}"


def main() -> None:
    base, seed = sys.argv[1].rstrip("/"), int(sys.argv[2])
    rng = random.Random(seed)
    http = httpx.Client(base_url=base, timeout=30)

    def get(path, **params):
        r = http.get(path, params=params)
        assert r.status_code == 200, (path, params, r.status_code, r.text)
        return r

    key = get("/log/key").json()
    origin, size, root = open_checkpoint(get("/log/checkpoint").text, key["vkey"])
    assert origin == key["origin"], (origin, key["origin"])
    assert size > 0

    # Entries, from the bundles; their leaf hashes must be the level-0 tiles.
    entries = []
    for n in range((size + 255) // 256):
        width = min(256, size - n * 256)
        bundle = get("/log/" + tile_path("entries", n, width)).content
        tile = get("/log/" + tile_path(0, n, width)).content
        at = 0
        for i in range(width):
            length = int.from_bytes(bundle[at : at + 2], "big")
            entry = bundle[at + 2 : at + 2 + length]
            at += 2 + length
            assert len(entry) == 32, "a receipt hash"
            assert tile[32 * i : 32 * i + 32] == leaf_hash(entry), f"tile 0/{n} hash {i}"
            entries.append(entry)
        assert at == len(bundle)
    leaves = [leaf_hash(e) for e in entries]
    assert mth(leaves) == root, "the checkpoint's root is MTH of the entries"
    if size >= 256:
        level1 = get("/log/" + tile_path(1, 0, size // 256)).content
        for i in range(size // 256):
            assert level1[32 * i : 32 * i + 32] == mth(leaves[256 * i : 256 * i + 256]), f"tile 1/0 hash {i}"

    roots = [mth(leaves[:n]) for n in range(size + 1)]
    inclusions = 0
    for n in range(1, size + 1):
        picks = {0, n - 1} | {rng.randrange(n) for _ in range(3)}
        for i in sorted(picks):
            proof = get(
                "/log/proof/inclusion",
                hash=base64.b64encode(leaves[i]).decode(),
                tree_size=n,
            ).json()
            path = [base64.b64decode(h) for h in proof["hashes"]]
            assert proof["leaf_index"] == i and proof["tree_size"] == n, proof
            assert verify_inclusion(leaves[i], i, n, path, roots[n]), f"leaf {i} of {n}"
            if path:
                bad = [bytes(32)] + path[1:]
                assert not verify_inclusion(leaves[i], i, n, bad, roots[n])
            inclusions += 1

    consistencies = 0
    top = min(64, size)
    for second in range(1, top + 1):
        for first in range(1, second + 1):
            proof = get("/log/proof/consistency", first=first, second=second).json()
            path = [base64.b64decode(h) for h in proof["hashes"]]
            assert verify_consistency(first, second, roots[first], roots[second], path), f"{first} -> {second}"
            if first < second:
                assert not verify_consistency(first, second, sha256(b"x"), roots[second], path)
            consistencies += 1

    print(f"log verified: {size} leaves, {inclusions} inclusion proofs, {consistencies} consistency proofs")


if __name__ == "__main__":
    main()
