"""Which kernel torch's scaled_dot_product_attention runs: math, flash, efficient or cudnn.

Stage: ops (pure; no torch). In: the device, the dtype q, k and v reach the call in, their
shapes and the call's options. Out: the kernel's name, or why torch refuses one. The rules mirror
torch 2.13 / 2.14's selection (sdp_utils_cpp.cpp on the CPU, cuda/sdp_utils.cpp on CUDA);
docs/memory.md#attention-the-kernel-that-runs says what each kernel keeps for backward.
"""

from __future__ import annotations

KERNELS = ("math", "flash", "efficient", "cudnn")
LOW = ("float16", "bfloat16")
CPU_FLASH_DTYPES = ("float32", "float64", "bfloat16", "float16")


def attention_kernel(device: str, dtype: str, heads: int, tokens: int, head_dim: int, *,
                     kv_tokens: int | None = None, value_dim: int | None = None, dropout: float = 0.0,
                     mask: bool = False, causal: bool = False, requires_grad: bool = True,
                     capability: tuple[int, int] = (8, 0), cudnn_first: bool | None = None) -> str:
    """The kernel F.scaled_dot_product_attention(q, k, v) runs for q of heads x tokens x head_dim
    (k: kv_tokens x head_dim, v: kv_tokens x value_dim; both default to q's) in `dtype` (the dtype
    q, k and v have: the autocast dtype under autocast), with the default backends enabled.

    CPU (measured, torch 2.13.0 and 2.14.1, tests/test_attention_kernels.py): flash for float32,
    float64, bfloat16 and float16, whatever the head width, sequence length or requires_grad, the
    mask or causal flag; math when dropout > 0 (nn.MultiheadAttention passes its dropout only in
    training) or when v's width differs from q's. There is no efficient or cuDNN kernel on the CPU.

    CUDA (read from torch's cuda/sdp_utils.cpp, not measured here: no GPU was lent), on a GPU of
    compute `capability`: the first of cudnn (only where preferred), flash, efficient, math that
    can run. cudnn is tried first on sm90 and sm100 (torch >= 2.13 with cuDNN > 9.15, as the
    CUDA 13 wheels ship; cudnn_first=False: TORCH_CUDNN_SDPA_DEPRIORITIZED=1); elsewhere it comes
    after math, so never. The conditions are kernel_refusal's."""
    for kernel in priority(device, capability, cudnn_first):
        if not kernel_refusal(kernel, device, dtype, heads, tokens, head_dim, kv_tokens=kv_tokens,
                              value_dim=value_dim, dropout=dropout, mask=mask, causal=causal,
                              requires_grad=requires_grad, capability=capability):
            return kernel
    return "math"


def priority(device: str, capability: tuple[int, int] = (8, 0), cudnn_first: bool | None = None) -> tuple[str, ...]:
    """The kernels in the order torch tries them on `device`."""
    if device != "cuda":
        return ("flash", "math")
    if cudnn_first is None:
        cudnn_first = capability[0] in (9, 10)
    return ("cudnn", "flash", "efficient", "math") if cudnn_first else ("flash", "efficient", "math")


def kernel_refusal(kernel: str, device: str, dtype: str, heads: int, tokens: int, head_dim: int, *,
                   kv_tokens: int | None = None, value_dim: int | None = None, dropout: float = 0.0,
                   mask: bool = False, causal: bool = False, requires_grad: bool = True,
                   capability: tuple[int, int] = (8, 0)) -> str:
    """Why torch would not run `kernel` for this call ("" where it can), in torch's own terms.

    CPU flash: dtype float32 / float64 / bfloat16 / float16, no dropout, q, k and v of one width.
    CUDA flash: float16 or bfloat16 (sm80+), sm80 to sm121, no attn_mask, q, k and v of one width
    <= 256 (not a multiple of 8: sdpa pads them, see Attention.saves_attention), a causal mask
    only when square; on sm86-89 and sm120-121 in training not width 193-224, nor 225-256 with
    dropout. CUDA efficient: sm50 to sm121, float32 / float16 (and bfloat16 on sm80+), q and k
    of one width, q's and v's widths multiples of 4 (float32) or 8 (float16, bfloat16) on sm80+
    (8 for float16 and 1 for float32 on sm70-75, 1 below). CUDA cudnn: float16 or bfloat16,
    sm80 to sm121, dropout a multiple of 1/16, widths multiples of 8 and <= 128 (256 on sm90 /
    sm100 with newer cuDNN: not modelled), no key sequence of length 1. Not modelled: nested
    tensors, torch.backends.cuda.enable_*_sdp(False), deterministic mode (no cudnn), batch or
    heads over 65,535 (no cudnn)."""
    kv_tokens = tokens if kv_tokens is None else kv_tokens
    value_dim = head_dim if value_dim is None else value_dim
    major, minor = capability
    sm = 10 * major + minor
    if kernel == "math":
        return ""
    if kernel not in KERNELS:
        return f"torch has no {kernel!r} kernel (one of {', '.join(KERNELS)})"
    if device != "cuda":
        if kernel != "flash":
            return f"torch has no {kernel} attention kernel on the CPU (flash or math)"
        if dtype not in CPU_FLASH_DTYPES:
            return f"the CPU flash kernel takes {', '.join(CPU_FLASH_DTYPES)}, not {dtype}"
        if dropout > 0:
            return "the CPU flash kernel takes no dropout"
        if head_dim != value_dim:
            return "the CPU flash kernel needs q, k and v of one width"
        return ""
    if kernel == "flash":
        if dtype not in (LOW if sm >= 80 else ("float16",)):
            return f"flash attention takes float16 or bfloat16, not {dtype}"
        if not 80 <= sm <= 121:
            return f"flash attention runs on sm80 to sm121, not sm{sm}"
        if mask:
            return "flash attention takes no attn_mask"
        if head_dim != value_dim or head_dim > 256:
            return "flash attention needs q, k and v of one width, at most 256"
        if requires_grad and (86 <= sm <= 89 or 120 <= sm <= 121) and not (
                head_dim <= 192 or (dropout == 0 and head_dim > 224)):
            return f"flash attention cannot train head width {head_dim} on sm{sm}"
        if causal and tokens != kv_tokens:
            return "flash attention takes a causal mask only when square"
        return ""
    if kernel == "efficient":
        if not 50 <= sm <= 121:
            return f"memory-efficient attention runs on sm50 to sm121, not sm{sm}"
        if dtype not in (("float32", "float16", "bfloat16") if sm >= 80 else ("float32", "float16")):
            return f"memory-efficient attention does not take {dtype} on sm{sm}"
        low = dtype in LOW
        align = (8 if low else 4) if major >= 8 else (8 if low else 1) if major >= 7 else 1
        if head_dim % align or value_dim % align:
            return f"memory-efficient attention needs widths that are multiples of {align}"
        return ""
    # cudnn
    if dtype not in (LOW if sm >= 80 else ("float16",)) or not 80 <= sm <= 121:
        return f"cuDNN attention takes float16 or bfloat16 on sm80 to sm121, not {dtype} on sm{sm}"
    if dropout * 16 != int(dropout * 16):
        return "cuDNN attention takes dropout in steps of 1/16"
    if head_dim % 8 or value_dim % 8 or head_dim > 128 or value_dim > 128:
        return "cuDNN attention needs widths that are multiples of 8, at most 128"
    if kv_tokens == 1 or (dropout and tokens == 1):
        return "cuDNN attention takes no key sequence of length 1"
    return ""


def check_kernel(attention: str | None) -> None:
    """A UsageError for a kernel name torch does not have (None: the one torch picks)."""
    if attention is None or attention in KERNELS:
        return
    from cnncalc.errors import UsageError
    from cnncalc.spec.expr import did_you_mean

    raise UsageError(None, f"attention={attention!r} is not one of {', '.join(KERNELS)}",
                     did_you_mean(str(attention), list(KERNELS)) or "leave it out for the kernel torch picks",
                     param="attention")
