"""Every torch reader reads the network torch runs (issue 19 item 2, issue 18
"torch.export"): eager ``nn.Sequential``, torch.fx, TorchScript (scripted and
traced, in memory and from files), ``torch.export`` programs (in memory and
``.pt2`` files), for :class:`~polyrelu.network.Network` and for TropEx.

Cross-check: exact evaluation of what was read against torch's own float64
forward pass of the original module at dyadic points.  The tolerance
``TOL = 1e-9`` (relative to ``1 + |y|``) is justified by the sizes: the models
here have at most 5 layers of width <= 8 with weights in [-1, 1] and inputs in
[-2, 2], so float64 rounding of torch's forward pass is below ``L n u M``
(Higham, Thm 3.5: ``|fl(Wx) - Wx| <= gamma_n |W||x|``, ReLU exact and
1-Lipschitz) ~ ``5 * 8 * 1.1e-16 * 8^5`` ~ 1.5e-10 in the worst case and
~1e-15 in practice, while a misread network (a dropped layer, a folded pair
of Linears, a lost hook) deviates by O(0.1).
"""

import io
import random
import warnings
from fractions import Fraction as F

import numpy as np
import pytest

from polyrelu.exceptions import ModelFileError, UnsupportedLayerError
from polyrelu.io import load
from polyrelu.network import Network

torch = pytest.importorskip("torch")
nn = torch.nn

TOL = 1e-9


def close(a, b):
    return abs(float(a) - float(b)) <= TOL * (1 + abs(float(b)))


def dyadic_points(d, n=12, seed=0):
    rng = random.Random(seed)
    return [[F(rng.randint(-8, 8), 4) for _ in range(d)] for _ in range(n)]


def torch64(module, x):
    with torch.no_grad():
        return module(torch.tensor([[float(v) for v in x]], dtype=torch.float64))[0].tolist()


def assert_reads_as_torch(net, module, points):
    for x in points:
        want = torch64(module, x)
        got = net(x)
        assert len(got) == len(want)
        assert all(close(g, w) for g, w in zip(got, want)), (x, [float(g) for g in got], want)


# ------------------------------------------------------------------ models
def reused_activation():
    """The issue's example: one ReLU instance at positions 1 and 3."""
    torch.manual_seed(0)
    act = nn.ReLU()
    return nn.Sequential(nn.Linear(2, 4), act, nn.Linear(4, 4), act,
                         nn.Linear(4, 1)).double().eval()


def tied_linear():
    """One Linear applied twice: 2-4-4-4-3, not 2-4-3."""
    torch.manual_seed(1)
    lin = nn.Linear(4, 4)
    return nn.Sequential(nn.Linear(2, 4), nn.ReLU(), lin, nn.ReLU(), lin, nn.ReLU(),
                         nn.Linear(4, 3)).double().eval()


def reused_sequential():
    """A nested Sequential (Linear + ReLU) appearing twice."""
    torch.manual_seed(2)
    block = nn.Sequential(nn.Linear(4, 4), nn.ReLU())
    return nn.Sequential(nn.Linear(2, 4), nn.ReLU(), block, block,
                         nn.Linear(4, 2)).double().eval()


class SharedResidual(nn.Module):
    """One submodule in two residual blocks: h + blk(h), twice."""

    def __init__(self):
        super().__init__()
        torch.manual_seed(3)
        self.a = nn.Linear(2, 4)
        self.blk = nn.Sequential(nn.Linear(4, 4), nn.ReLU())
        self.out = nn.Linear(4, 1)

    def forward(self, x):
        h = torch.relu(self.a(x))
        h = h + self.blk(h)
        h = h + self.blk(h)
        return self.out(h)


MODELS = {
    "reused_activation": (reused_activation, "2-4-4-1"),
    "tied_linear": (tied_linear, "2-4-4-4-3"),
    "reused_sequential": (reused_sequential, "2-4-4-4-2"),
    "shared_residual": (lambda: SharedResidual().double().eval(), "2-4-4-4-1"),
}


def _quiet(fn):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return fn()


def _roundtrip_script(sm):
    buf = io.BytesIO()
    torch.jit.save(sm, buf)
    buf.seek(0)
    return torch.jit.load(buf)


def _example(module):
    return torch.zeros(1, 2, dtype=torch.float64)


def as_read_by(module, how, tmp_path):
    """``module`` in the form the reader ``how`` takes."""
    x0 = _example(module)
    if how == "eager":
        return module
    if how == "fx":
        return torch.fx.symbolic_trace(module)
    if how == "script":
        return _quiet(lambda: torch.jit.script(module))
    if how == "trace":
        return _quiet(lambda: torch.jit.trace(module, x0))
    if how == "script_file":
        return _roundtrip_script(_quiet(lambda: torch.jit.script(module)))
    if how == "trace_file":
        return _roundtrip_script(_quiet(lambda: torch.jit.trace(module, x0)))
    if how == "export":
        return torch.export.export(module, (x0,))
    raise AssertionError(how)


READERS = ("eager", "fx", "script", "trace", "script_file", "trace_file", "export")


@pytest.mark.parametrize("how", READERS)
@pytest.mark.parametrize("name", sorted(MODELS))
def test_reused_modules_are_read_as_torch_runs_them(name, how, tmp_path):
    make, arch = MODELS[name]
    module = make()
    net = Network.from_torch(as_read_by(module, how, tmp_path))
    assert net.architecture == arch
    assert_reads_as_torch(net, module, dyadic_points(2))


@pytest.mark.parametrize("name", sorted(MODELS))
def test_reused_modules_from_files(name, tmp_path):
    """The same models through Network.load: TorchScript and torch.export files."""
    make, arch = MODELS[name]
    module = make()
    x0 = _example(module)
    for fname, save in (("s.pt", lambda p: torch.jit.save(torch.jit.script(module), p)),
                        ("t.pt", lambda p: torch.jit.save(torch.jit.trace(module, x0), p)),
                        ("e.pt2", lambda p: torch.export.save(
                            torch.export.export(module, (x0,)), p))):
        p = str(tmp_path / fname)
        _quiet(lambda: save(p))
        net = load(p)
        assert net.architecture == arch, fname
        assert_reads_as_torch(net, module, dyadic_points(2, seed=1))


def test_reused_activation_is_not_folded_into_one_linear():
    """Issue 19 item 2, verbatim: was read as 2-4-1 (max |exact - torch| 0.197)."""
    net = Network.from_torch(reused_activation())
    assert net.architecture == "2-4-4-1" and net.num_layers == 3


def test_shared_residual_skips():
    net = Network.from_torch(SharedResidual().double().eval())
    # u_2 = nu_1 + nu_... : h1 = relu(a x), h2 = h1 + relu(L h1), h3 = h2 + relu(L h2)
    assert net.skips == ((3, (1,)), (4, (1, 2)))


# ----------------------------------------------------------- TropEx readers
class _ReusedCnn(nn.Module):
    """A shared Conv2d and a shared ReLU in a residual CNN."""

    def __init__(self):
        super().__init__()
        torch.manual_seed(5)
        self.c1 = nn.Conv2d(1, 2, 3, padding=1)
        self.c2 = nn.Conv2d(2, 2, 3, padding=1)
        self.act = nn.ReLU()
        self.fc = nn.Linear(32, 3)

    def forward(self, x):
        h = self.act(self.c1(x))
        h = self.act(self.c2(h) + h)
        h = self.act(self.c2(h) + h)
        return self.fc(torch.flatten(h, 1))


def _tied_conv_sequential():
    torch.manual_seed(6)
    c = nn.Conv2d(2, 2, 3, padding=1)
    act = nn.ReLU()
    return nn.Sequential(nn.Conv2d(1, 2, 3, padding=1), act, c, act, c, act, nn.Flatten(),
                         nn.Linear(32, 3)).double().eval()


@pytest.mark.parametrize("how", ["eager", "script", "trace", "export"])
@pytest.mark.parametrize("make", [lambda: _ReusedCnn().double().eval(),
                                  _tied_conv_sequential])
def test_tropex_reads_reused_modules_as_torch_runs_them(make, how):
    from polyrelu.tropex import model_outputs, tropex

    model = make()
    x0 = torch.zeros(1, 1, 4, 4, dtype=torch.float64)
    m = {"eager": lambda: model, "script": lambda: torch.jit.script(model),
         "trace": lambda: torch.jit.trace(model, x0),
         "export": lambda: torch.export.export(model, (x0,))}[how]
    m = _quiet(m)
    X = np.random.default_rng(0).integers(-8, 9, size=(5, 1, 4, 4)) / 4.0
    ours = model_outputs(m, X, "exact")
    with torch.no_grad():
        ref = model(torch.as_tensor(X)).numpy()
    for row, want in zip(ours, ref):
        assert all(close(a, b) for a, b in zip(row, want))
    assert tropex(m, X, "exact").checks["theorem_3_3"]


def test_forward_hooks_are_refused_or_run():
    """A forward hook changes what a module computes; the Sequential and
    torch.fx readers do not run hooks, so such a module is refused -- and
    torch.export, which runs them, reads it as torch runs it."""
    torch.manual_seed(7)
    seq = nn.Sequential(nn.Linear(2, 3), nn.ReLU(), nn.Linear(3, 1)).double().eval()
    handle = seq[1].register_forward_hook(lambda mod, inp, out: out * 2)
    try:
        with pytest.raises(UnsupportedLayerError, match="'1' has a forward hook"):
            Network.from_torch(seq)
        ep = _quiet(lambda: torch.export.export(seq, (_example(seq),)))
        net = Network.from_torch(ep)
        assert_reads_as_torch(net, seq, dyadic_points(2))
    finally:
        handle.remove()
    assert_reads_as_torch(Network.from_torch(seq), seq, dyadic_points(2))


def test_subclass_of_a_torch_layer_runs_its_own_forward():
    """A Linear subclass with its own forward is traced through, not read as
    a Linear from its attributes."""
    class Doubled(nn.Linear):
        def forward(self, x):
            return 2 * super().forward(x)

    torch.manual_seed(8)
    seq = nn.Sequential(Doubled(2, 3), nn.ReLU(), nn.Linear(3, 1)).double().eval()
    net = Network.from_torch(seq)
    assert_reads_as_torch(net, seq, dyadic_points(2))


# ------------------------------------------- damaged archives (issue 19 item 7)
def _member_data_offset(data: bytes, name_end: str) -> tuple:
    """(offset, size) of the stored bytes of the first member whose name ends
    with ``name_end``."""
    import struct
    import zipfile

    z = zipfile.ZipFile(io.BytesIO(data))
    info = next(i for i in z.infolist() if i.filename.endswith(name_end))
    h = info.header_offset
    n, e = struct.unpack("<HH", data[h + 26:h + 30])
    return h + 30 + n + e, info.compress_size


def _torch_files(tmp_path):
    """One file of each torch kind with the same 2-3-1 network."""
    torch.manual_seed(11)
    seq = nn.Sequential(nn.Linear(2, 3), nn.ReLU(), nn.Linear(3, 1)).eval()
    x0 = torch.zeros(1, 2)
    paths = {"script": tmp_path / "s.pt", "state": tmp_path / "sd.pth",
             "export": tmp_path / "e.pt2"}
    _quiet(lambda: torch.jit.save(torch.jit.script(seq), str(paths["script"])))
    torch.save(seq.state_dict(), paths["state"])
    _quiet(lambda: torch.export.save(torch.export.export(seq, (x0,)), str(paths["export"])))
    return seq, paths


def _load_kw(kind):
    return {"arch": "2-3-1"} if kind == "state" else {}


@pytest.mark.parametrize("kind, member", [("script", "data/0"), ("state", "data/0"),
                                          ("export", "weights/weight_0")])
def test_bit_flipped_weight_is_an_error_not_a_different_network(tmp_path, kind, member):
    """torch itself loads the flipped weight (the CRC-32 is not checked);
    polyrelu checks every member's CRC-32 first."""
    seq, paths = _torch_files(tmp_path)
    p = paths[kind]
    data = bytearray(p.read_bytes())
    off, size = _member_data_offset(bytes(data), member)
    data[off + size // 2] ^= 0x10          # a bit in the middle of a float32 weight
    bad = tmp_path / f"bad_{p.name}"
    bad.write_bytes(bytes(data))
    loaders = {"script": lambda: torch.jit.load(str(bad)),
               "state": lambda: torch.load(str(bad), weights_only=True),
               "export": lambda: torch.export.load(str(bad))}
    loaded = _quiet(loaders[kind])          # torch reads it without complaint ...
    assert loaded is not None
    with pytest.raises(ModelFileError, match=r"bad_.*CRC-32"):
        load(bad, **_load_kw(kind))         # ... polyrelu does not
    assert load(p, **_load_kw(kind)) == Network.from_torch(seq)


def _set_central_field(data: bytes, name_end: str, offset: int, value: bytes) -> bytes:
    """Overwrite a field (at ``offset`` in its central directory entry) of a member."""
    import struct

    eocd = data.rindex(b"PK\x05\x06")
    cd_off = struct.unpack("<I", data[eocd + 16:eocd + 20])[0]
    out = bytearray(data)
    pos = cd_off
    while data[pos:pos + 4] == b"PK\x01\x02":
        n, e, c = struct.unpack("<HHH", data[pos + 28:pos + 34])
        if data[pos + 46:pos + 46 + n].decode("utf-8", "replace").endswith(name_end):
            out[pos + offset:pos + offset + len(value)] = value
            return bytes(out)
        pos += 46 + n + e + c
    raise AssertionError(name_end)


def _set_end_field(data: bytes, field: str, value: int) -> bytes:
    """Set the member count or directory offset of the end record (the zip64
    one, which torch writes and both readers then use, if there is one)."""
    out = bytearray(data)
    if b"PK\x06\x06" in data:
        end = data.rindex(b"PK\x06\x06")
        spots = {"count": ((24, 8), (32, 8)), "offset": ((48, 8),)}[field]
    else:
        end = data.rindex(b"PK\x05\x06")
        spots = {"count": ((8, 2), (10, 2)), "offset": ((16, 4),)}[field]
    for off, size in spots:
        out[end + off:end + off + size] = value.to_bytes(size, "little")
    return bytes(out)


@pytest.mark.parametrize("kind", ["script", "state", "export"])
def test_garbled_zip_directories_are_model_file_errors(tmp_path, kind):
    """zipfile raises UnicodeDecodeError on a garbled (UTF-8 flagged) name and
    NotImplementedError on a garbled version field: both are ModelFileErrors."""
    _, paths = _torch_files(tmp_path)
    data = paths[kind].read_bytes()
    member = "data.pkl" if kind != "export" else "model.json"
    cases = {
        # "version needed to extract" 0xFF -> NotImplementedError('zip file version')
        "version": _set_central_field(data, member, 6, b"\xff\x00"),
        # a name byte 0xFF with the UTF-8 flag (bit 11) -> UnicodeDecodeError
        "name": _set_central_field(_set_central_field(data, member, 8, b"\x00\x08"),
                                   member, 46, b"\xff"),
        # the stored CRC-32 of a member changed
        "crc": _set_central_field(data, member, 16, b"\x00\x00\x00\x01"),
        # the DOS directory bit of the external attributes: zipfile reads the
        # member, torch's reader "extracts" a directory -- uninitialised memory
        # as weights (found by the fuzz: a weight member, byte := 0x77)
        "dirflag": _set_central_field(data, "data/0" if kind != "export" else
                                      "weight_0", 38, b"\x10"),
        # the end record's member count and directory offset: zipfile does not
        # need them (it shifts every member by the difference), torch does
        # a member's CRC-32 and sizes zeroed in the directory: zipfile reads an
        # empty member, torch.export loads a tensor of zeros (found by the fuzz)
        "emptied": _set_central_field(data, "data/0" if kind != "export" else
                                      "weight_0", 16, bytes(12)),
        "count": _set_end_field(data, "count", 1),
        "offset": _set_end_field(data, "offset", 0),
    }
    for what, bad in cases.items():
        p = tmp_path / f"{what}_{paths[kind].name}"
        p.write_bytes(bad)
        with pytest.raises(ModelFileError, match=f"{what}_.*corrupted archive"):
            load(p, **_load_kw(kind))


def test_archives_without_checksums_and_legacy_files_are_refused(tmp_path):
    torch.manual_seed(12)
    seq = nn.Sequential(nn.Linear(2, 3), nn.ReLU(), nn.Linear(3, 1))
    old = torch.serialization.get_crc32_options()
    torch.serialization.set_crc32_options(False)
    try:
        torch.save(seq.state_dict(), tmp_path / "nocrc.pth")
    finally:
        torch.serialization.set_crc32_options(old)
    with pytest.raises(ModelFileError, match="nocrc.pth.*records no CRC-32"):
        load(tmp_path / "nocrc.pth", arch="2-3-1")
    torch.save(seq.state_dict(), tmp_path / "legacy.pth", _use_new_zipfile_serialization=False)
    with pytest.raises(ModelFileError, match="legacy.pth.*legacy.*no checksums"):
        load(tmp_path / "legacy.pth", arch="2-3-1")


class _MadeInForward(nn.Module):
    """forward makes a tensor: random noise or a constant."""

    def __init__(self, kind):
        super().__init__()
        torch.manual_seed(9)
        self.kind = kind
        self.l = nn.Linear(2, 2).double()

    def forward(self, x):
        if self.kind == "randn":
            return self.l(x + torch.randn(2, dtype=torch.float64))
        return self.l(x + torch.tensor([0.5, -1.5], dtype=torch.float64))


@pytest.mark.parametrize("how", ["eager", "trace", "export"])
def test_tensors_made_in_forward_are_not_frozen(how):
    """torch.fx evaluates torch.randn(...) once while tracing and keeps the
    value: noise would be read as a fixed shift.  Refused in the fx reader
    (read a torch.export program, which keeps randn as an op -- refused there
    as not deterministic); a deterministic tensor constant reads exactly."""
    x0 = torch.zeros(1, 2, dtype=torch.float64)
    for kind in ("randn", "const"):
        m = _MadeInForward(kind).eval()
        model = {"eager": lambda: m, "trace": lambda: torch.jit.trace(m, x0),
                 "export": lambda: torch.export.export(m, (x0,))}[how]
        if kind == "randn":
            with pytest.raises(UnsupportedLayerError, match="randn"):
                Network.from_torch(_quiet(model))
        elif how == "eager":
            with pytest.raises(UnsupportedLayerError, match="evaluates once"):
                Network.from_torch(m)
        else:
            net = Network.from_torch(_quiet(model))
            assert_reads_as_torch(net, m, dyadic_points(2))
    assert not hasattr(_MadeInForward("randn"), "_tensor_constant0")


def test_exported_linear_per_row_is_not_a_network_of_the_whole_input():
    torch.manual_seed(10)
    m = nn.Sequential(nn.Linear(4, 3), nn.ReLU(), nn.Linear(3, 1)).eval()
    ep = _quiet(lambda: torch.export.export(m, (torch.zeros(1, 2, 4),)))
    with pytest.raises(UnsupportedLayerError, match=r"inputs of shape \(2, 4\).*4 features"):
        Network.from_torch(ep)
