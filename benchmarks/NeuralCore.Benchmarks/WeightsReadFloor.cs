using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using NeuralCore.Threading;

namespace NeuralCore.Benchmarks;

/// <summary>
/// The least time any float32 forward pass of a model can take at batch 1: reading each of its parameters once, and
/// nothing else. A copy of the parameters on 64-byte boundaries, divided among the threads in equal whole-line shares,
/// each share read with eight independent vector sums (no multiply-add chain waits on another), the direction of every
/// share reversed from one call to the next so that a pass begins with what the last one read last (the most a core's
/// L2 can give back, as <c>GemmRows.PassOrder</c> does in the predictor).
/// </summary>
/// <remarks>
/// A prediction computes more than this (the products, the biases, the activations, softmax, the fork and join of a
/// prediction's own region), so where this floor is more than half of another runtime's time, no float32 predictor can
/// be twice as fast as it on that machine: that is what <see cref="PredictLatencyBenchmarks.WeightsReadOnce"/> shows.
/// </remarks>
internal sealed unsafe class WeightsReadFloor : IParallelWork, IDisposable
{
    private readonly float* _data;
    private readonly int _lines;
    private readonly int _threads;
    private readonly float[] _sums;
    private bool _reverse;

    /// <summary>Copies <paramref name="parameters"/> (zero-padded to a whole number of 64-byte lines).</summary>
    public WeightsReadFloor(ReadOnlySpan<float> parameters, int threads)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(threads, 1);
        _lines = (parameters.Length + 15) / 16;
        _data = (float*)NativeMemory.AlignedAlloc((nuint)_lines * 64, 64);
        var copy = new Span<float>(_data, _lines * 16);
        copy.Clear();
        parameters.CopyTo(copy);
        _threads = threads;
        _sums = new float[threads * 16];
    }

    /// <summary>Bytes read by one <see cref="Read"/>.</summary>
    public long Bytes => (long)_lines * 64;

    /// <summary>Reads every line once on the threads given at construction; returns the sum of what was read.</summary>
    public float Read()
    {
        _reverse = !_reverse;
        if (_threads == 1)
        {
            Execute(0);
        }
        else
        {
            WorkerPool.Run(this, _threads, _threads);
        }

        float total = 0;
        for (int i = 0; i < _sums.Length; i += 16)
        {
            total += _sums[i];
        }

        return total;
    }

    public void Execute(int index)
    {
        int first = (int)((long)_lines * index / _threads), end = (int)((long)_lines * (index + 1) / _threads);
        _sums[index * 16] = Sum(_data + ((long)first * 16), end - first, _reverse);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static float Sum(float* p, int lines, bool reverse)
    {
        Vector512<float> s0 = default, s1 = default, s2 = default, s3 = default, s4 = default, s5 = default, s6 = default, s7 = default;
        int groups = lines / 8;
        for (int g = 0; g < groups; g++)
        {
            float* q = p + ((long)(reverse ? groups - 1 - g : g) * 128);
            s0 += Vector512.LoadAligned(q);
            s1 += Vector512.LoadAligned(q + 16);
            s2 += Vector512.LoadAligned(q + 32);
            s3 += Vector512.LoadAligned(q + 48);
            s4 += Vector512.LoadAligned(q + 64);
            s5 += Vector512.LoadAligned(q + 80);
            s6 += Vector512.LoadAligned(q + 96);
            s7 += Vector512.LoadAligned(q + 112);
        }

        for (int l = groups * 8; l < lines; l++)
        {
            s0 += Vector512.LoadAligned(p + ((long)l * 16));
        }

        return Vector512.Sum(((s0 + s1) + (s2 + s3)) + ((s4 + s5) + (s6 + s7)));
    }

    public void Dispose() => NativeMemory.AlignedFree(_data);
}
