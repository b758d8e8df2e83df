using BenchmarkDotNet.Attributes;
using NeuralCore.Kernels;

namespace NeuralCore.Benchmarks;

/// <summary>The shape of one product <c>C[M, N] (+)= op(A)[M, K]·op(B)[K, N]</c>, and how A and B are stored.</summary>
internal readonly record struct GemmShape(int M, int N, int K, bool TransposeA = false, bool TransposeB = false,
    bool Accumulate = false)
{
    /// <summary>Floating-point operations of one product: a multiply and an add per term.</summary>
    public double Flops => 2.0 * M * N * K;
}

/// <summary>
/// The three products of a 784 → <see cref="Hidden"/> dense layer trained on MNIST batches of 128:
/// forward <c>Y = X·W</c>, weight gradient <c>dW += Xᵀ·dY</c>, input gradient <c>dX = dY·Wᵀ</c>.
/// </summary>
public class GemmBenchmarks
{
    internal const int Batch = 128;
    internal const int Inputs = 784;

    private float[] _x = [];
    private float[] _w = [];
    private float[] _y = [];
    private float[] _dy = [];
    private float[] _dw = [];
    private float[] _dx = [];
    private KernelIsa _isa;

    /// <summary>The layer's output width H.</summary>
    [Params(16, 128, 512, 1024)]
    public int Hidden { get; set; }

    /// <summary>The value given to <see cref="Parallelism.DegreeOfParallelism"/>.</summary>
    [ParamsSource(typeof(BenchmarkParams), nameof(BenchmarkParams.ThreadCounts))]
    public int Threads { get; set; }

    /// <summary>The micro-kernel width.</summary>
    [ParamsSource(typeof(BenchmarkParams), nameof(BenchmarkParams.SupportedIsaPaths))]
    public IsaPath Isa { get; set; }

    /// <summary>The product a benchmark method runs; the FLOP columns read it too, so the two cannot disagree.</summary>
    internal static GemmShape ShapeOf(string method, int hidden) => method switch
    {
        nameof(Forward) => new GemmShape(Batch, hidden, Inputs),
        nameof(WeightGradient) => new GemmShape(Inputs, hidden, Batch, TransposeA: true, Accumulate: true),
        nameof(InputGradient) => new GemmShape(Batch, Inputs, hidden, TransposeB: true),
        _ => throw new ArgumentOutOfRangeException(nameof(method), method, "Not a GemmBenchmarks method."),
    };

    [GlobalSetup]
    public void Setup()
    {
        BenchmarkParams.RequireSupported(Isa);
        _isa = Isa.ToKernelIsa();
        Parallelism.DegreeOfParallelism = Threads;
        var random = new Random(20240611);
        _x = RandomBuffers.Uniform(random, Batch * Inputs);
        _w = RandomBuffers.Uniform(random, Inputs * Hidden);
        _dy = RandomBuffers.Uniform(random, Batch * Hidden);
        _dw = RandomBuffers.Uniform(random, Inputs * Hidden);
        _y = new float[Batch * Hidden];
        _dx = new float[Batch * Inputs];
    }

    /// <summary>Y[128, H] = X[128, 784]·W[784, H].</summary>
    [Benchmark]
    public void Forward() => Run(ShapeOf(nameof(Forward), Hidden), _x, _w, _y);

    /// <summary>dW[784, H] += Xᵀ·dY, with X stored [128, 784] and dY [128, H].</summary>
    [Benchmark]
    public void WeightGradient() => Run(ShapeOf(nameof(WeightGradient), Hidden), _x, _dy, _dw);

    /// <summary>dX[128, 784] = dY[128, H]·Wᵀ, with W stored [784, H].</summary>
    [Benchmark]
    public void InputGradient() => Run(ShapeOf(nameof(InputGradient), Hidden), _dy, _w, _dx);

    private void Run(in GemmShape s, float[] a, float[] b, float[] c) =>
        Gemm.MultiplyOn(_isa, a, b, c, s.M, s.N, s.K, s.TransposeA, s.TransposeB, s.Accumulate);
}

/// <summary>A square 1024³ product: the large-matrix reference point, far from the MLP's skinny shapes.</summary>
public class GemmSquareBenchmarks
{
    internal const int Size = 1024;

    private float[] _a = [];
    private float[] _b = [];
    private float[] _c = [];
    private KernelIsa _isa;

    /// <summary>The value given to <see cref="Parallelism.DegreeOfParallelism"/>.</summary>
    [ParamsSource(typeof(BenchmarkParams), nameof(BenchmarkParams.ThreadCounts))]
    public int Threads { get; set; }

    /// <summary>The micro-kernel width.</summary>
    [ParamsSource(typeof(BenchmarkParams), nameof(BenchmarkParams.SupportedIsaPaths))]
    public IsaPath Isa { get; set; }

    internal static GemmShape Shape => new(Size, Size, Size);

    [GlobalSetup]
    public void Setup()
    {
        BenchmarkParams.RequireSupported(Isa);
        _isa = Isa.ToKernelIsa();
        Parallelism.DegreeOfParallelism = Threads;
        var random = new Random(20240612);
        _a = RandomBuffers.Uniform(random, Size * Size);
        _b = RandomBuffers.Uniform(random, Size * Size);
        _c = new float[Size * Size];
    }

    /// <summary>C[1024, 1024] = A[1024, 1024]·B[1024, 1024].</summary>
    [Benchmark]
    public void Square() => Gemm.MultiplyOn(_isa, _a, _b, _c, Size, Size, Size);
}

internal static class RandomBuffers
{
    /// <summary>A new buffer of uniform values in [-1, 1), reproducible from the generator's seed.</summary>
    public static float[] Uniform(Random random, int length)
    {
        var buffer = new float[length];
        for (int i = 0; i < buffer.Length; i++)
        {
            buffer[i] = (float)((random.NextDouble() * 2.0) - 1.0);
        }

        return buffer;
    }
}
