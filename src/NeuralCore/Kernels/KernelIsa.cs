using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.Arm;
using System.Runtime.Intrinsics.X86;

namespace NeuralCore.Kernels;

/// <summary>The instruction-set paths of the GEMM and the element-wise kernels; tests and benchmarks pick one explicitly.</summary>
internal enum KernelIsa
{
    /// <summary>Plain scalar code.</summary>
    Scalar,

    /// <summary>128-bit vectors (SSE, or NEON on ARM64).</summary>
    Vector128,

    /// <summary>256-bit vectors (AVX2 + FMA).</summary>
    Vector256,

    /// <summary>512-bit vectors (AVX-512F).</summary>
    Vector512,
}

/// <summary>Which <see cref="KernelIsa"/> paths this process can run, and the one it runs by default.</summary>
internal static class KernelIsaSupport
{
    /// <summary>
    /// The widest accelerated path with a hardware fused multiply-add; see docs/benchmarks.md for why 512 bits is
    /// preferred where present. Without FMA (an x64 CPU or NativeAOT target below x86-64-v3), the vector kernels'
    /// FusedMultiplyAdd would run in software (an MNIST epoch took 46 s instead of 1.4 s under NativeAOT's default x64
    /// target), far slower than the scalar kernel's plain multiply and add.
    /// </summary>
    public static readonly KernelIsa Best =
        Vector512.IsHardwareAccelerated ? KernelIsa.Vector512 :
        Vector256.IsHardwareAccelerated && HasFma ? KernelIsa.Vector256 :
        Vector128.IsHardwareAccelerated && HasFma ? KernelIsa.Vector128 :
        KernelIsa.Scalar;

    /// <summary>
    /// The widest accelerated vectors, for the element-wise kernels: they use no fused multiply-add (so that every
    /// width gives the same bits), and need none from the hardware.
    /// </summary>
    public static readonly KernelIsa Widest =
        Vector512.IsHardwareAccelerated ? KernelIsa.Vector512 :
        Vector256.IsHardwareAccelerated ? KernelIsa.Vector256 :
        Vector128.IsHardwareAccelerated ? KernelIsa.Vector128 :
        KernelIsa.Scalar;

    private static bool HasFma => Fma.IsSupported || AdvSimd.IsSupported;

    /// <summary>Whether <paramref name="isa"/> runs accelerated here (software emulation would be correct but slow).</summary>
    public static bool IsSupported(KernelIsa isa) => isa switch
    {
        KernelIsa.Vector512 => Vector512.IsHardwareAccelerated,
        KernelIsa.Vector256 => Vector256.IsHardwareAccelerated,
        KernelIsa.Vector128 => Vector128.IsHardwareAccelerated,
        _ => true,
    };

    /// <summary>The paths that run accelerated in this process, the scalar one included.</summary>
    public static IEnumerable<KernelIsa> Supported =>
        Enum.GetValues<KernelIsa>().Where(IsSupported);
}
