using System.Runtime.Intrinsics;
using NeuralCore.Kernels;

namespace NeuralCore.Tests.Kernels;

/// <summary>
/// CI runs the suite at three instruction-set levels (.ci/run); each run proves it ran the path it claims, so that a
/// runtime that silently ignores a switch (as DOTNET_EnableAVX512F=0 is ignored on .NET 10) cannot pass as coverage.
/// </summary>
public class IsaLevelTests
{
    // A product's plan at the path the library picks by default (Gemm.Multiply plans with KernelIsaSupport.Best): the
    // 12 x 32 tile of two 512-bit vectors per row for 100 rows, the 8 x 32 one for 128 rows (only the Vector512
    // micro-kernels are 32 wide; the generated table's constants name each). Proves that the products plan 512-bit tiles,
    // not only that the vector types are 512 bits wide; that a plan runs the kernels it names is GemmTests'. (The kernels' function pointers are not compared: the compiler warns that two pointers to
    // one method may differ.)
    private static void AssertProductsUse512BitTiles()
    {
        GemmPlan twelve = GemmPlan.Create(100, 512, 784, KernelIsaSupport.Best, 1);
        Assert.Equal((GemmMicroKernels.Vector512x12x32Mr, GemmMicroKernels.Vector512x12x32Nr), (twelve.Mr, twelve.Nr));
        GemmPlan eight = GemmPlan.Create(128, 512, 784, KernelIsaSupport.Best, 1);
        Assert.Equal((GemmMicroKernels.Vector512x8x32Mr, GemmMicroKernels.Vector512x8x32Nr), (eight.Mr, eight.Nr));
    }

    [Fact]
    public void The_run_uses_the_instruction_set_CI_asked_for()
    {
        string? level = Environment.GetEnvironmentVariable("DOTNET_CI_LEVEL");
        bool noAvx512 = Environment.GetEnvironmentVariable("DOTNET_EnableAVX512") == "0";
        bool scalar = Environment.GetEnvironmentVariable("DOTNET_EnableHWIntrinsic") == "0";
        switch (level)
        {
            case "avx512":
                Assert.True(Vector512.IsHardwareAccelerated, "DOTNET_CI_LEVEL=avx512 but Vector512 is not accelerated");
                Assert.Equal(KernelIsa.Vector512, KernelIsaSupport.Best);
                Assert.Equal(KernelIsa.Vector512, KernelIsaSupport.Widest);
                AssertProductsUse512BitTiles();
                break;
            case "avx2":
                Assert.False(Vector512.IsHardwareAccelerated, "DOTNET_CI_LEVEL=avx2 but Vector512 is accelerated");
                Assert.Equal(KernelIsa.Vector256, KernelIsaSupport.Best);
                Assert.Equal(KernelIsa.Vector256, KernelIsaSupport.Widest);
                break;
            case "scalar":
                Assert.False(Vector128.IsHardwareAccelerated, "DOTNET_CI_LEVEL=scalar but Vector128 is accelerated");
                Assert.Equal(KernelIsa.Scalar, KernelIsaSupport.Best);
                Assert.Equal(KernelIsa.Scalar, KernelIsaSupport.Widest);
                break;
            default:
                // Outside CI: the switches, if set, must still have taken effect.
                Assert.False(noAvx512 && Vector512.IsHardwareAccelerated, "DOTNET_EnableAVX512=0 did not switch Vector512 off");
                Assert.False(scalar && Vector128.IsHardwareAccelerated, "DOTNET_EnableHWIntrinsic=0 did not switch the vectors off");
                break;
        }
    }
}
