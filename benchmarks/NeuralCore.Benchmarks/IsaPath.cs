using NeuralCore.Kernels;

namespace NeuralCore.Benchmarks;

/// <summary>
/// The SIMD widths the benchmarks compare. A public mirror of the library's internal <see cref="KernelIsa"/>, because
/// BenchmarkDotNet writes parameter values into a generated program that only sees public types.
/// </summary>
public enum IsaPath
{
    /// <summary>256-bit vectors (<see cref="KernelIsa.Vector256"/>).</summary>
    Vector256,

    /// <summary>512-bit vectors (<see cref="KernelIsa.Vector512"/>).</summary>
    Vector512,
}

/// <summary>Parameter values shared by the benchmark classes.</summary>
public static class BenchmarkParams
{
    /// <summary>The <see cref="IsaPath"/> values this machine runs accelerated; the others are not benchmarked.</summary>
    public static IEnumerable<IsaPath> SupportedIsaPaths() =>
        Enum.GetValues<IsaPath>().Where(path => KernelIsaSupport.IsSupported(path.ToKernelIsa()));

    /// <summary>The path the library runs by default here (what benchmarks without an Isa parameter use), if benchmarked.</summary>
    public static IsaPath? DefaultIsaPath => KernelIsaSupport.Best switch
    {
        KernelIsa.Vector512 => IsaPath.Vector512,
        KernelIsa.Vector256 => IsaPath.Vector256,
        _ => null,
    };

    /// <summary>One thread, and every processor (the two coincide on a single-processor machine).</summary>
    public static IEnumerable<int> ThreadCounts() => new[] { 1, Environment.ProcessorCount }.Distinct();

    internal static KernelIsa ToKernelIsa(this IsaPath path) => path switch
    {
        IsaPath.Vector256 => KernelIsa.Vector256,
        IsaPath.Vector512 => KernelIsa.Vector512,
        _ => throw new ArgumentOutOfRangeException(nameof(path), path, "Unknown ISA path."),
    };

    /// <summary>
    /// Fails the benchmark with a clear message when <paramref name="path"/> is not accelerated in this process (the
    /// parameter list is computed in the host, so a job that switches an ISA off through the environment lands here).
    /// </summary>
    /// <exception cref="PlatformNotSupportedException"><paramref name="path"/> is not hardware-accelerated.</exception>
    internal static void RequireSupported(IsaPath path)
    {
        if (!KernelIsaSupport.IsSupported(path.ToKernelIsa()))
        {
            throw new PlatformNotSupportedException(
                $"Isa={path} is not hardware-accelerated in this process (DOTNET_EnableAVX512=0 or an older CPU?).");
        }
    }
}
