using NeuralCore.Data;
using NeuralCore.Kernels;
using NeuralCore.Threading;

namespace NeuralCore.Training;

/// <summary>
/// Gathers one batch of shuffled samples into the batch buffers, its rows divided among threads when the batch is
/// large: the rows come from all over the dataset, so each is a cache miss, and two cores wait for twice as many at once.
/// </summary>
/// <remarks>
/// Each thread gathers whole rows, which the step then reads on every core. Dividing the features instead, each thread
/// the columns its share of the first product reads (as from 2026-12-01 to 2026-12-06), kept the batch in the cache of
/// the core that reads it, but every thread then paid every row's miss: its half rows cost as much a row as whole ones.
/// In training on two threads, batch 128 (AMD EPYC Zen 5, 2 real cores, vCPUs 470 ns apart; processes alternating):
/// the gather 29 -> 15 µs a step at 784-128-10 and the steps 173 -> 144-160 µs; 784-512-10 455 -> 440 µs.
/// </remarks>
internal sealed class BatchGather : IParallelWork
{
    // Below this many features per batch one thread gathers it faster than two (fork and join cost about a microsecond).
    private const int MinFeaturesPerThread = 16 * 1024;

    private readonly SampleSource _source;
    private readonly int[] _order;
    private readonly float[] _features;
    private readonly int[] _labels;
    private readonly float[] _targets;
    private readonly float[] _weights;
    private int _first;
    private int _count;
    private int _items;
    private bool _streaming;

    public BatchGather(SampleSource source, int[] order, float[] features, int[] labels, float[] targets, float[] weights)
    {
        _source = source;
        _order = order;
        _features = features;
        _labels = labels;
        _targets = targets;
        _weights = weights;
    }

    /// <summary>Whether the last <see cref="Run"/> wrote with streaming stores (tests).</summary>
    internal bool LastRunStreaming => _streaming;

    /// <summary>Whether a batch of <paramref name="count"/> rows is divided among threads, on the current thread limit.</summary>
    public bool Splits(int count) => Items(count) > 1;

    /// <summary>
    /// Rows <c>order[first .. first + count)</c> into rows <c>0 .. count</c> of the buffers, on the current thread limit;
    /// where several threads share them (<see cref="Splits"/>), with streaming stores unless <paramref name="streaming"/>
    /// is false (<see cref="StepThreadChooser.GatherStores"/>). The same values either way.
    /// </summary>
    public void Run(int first, int count, bool streaming = true)
    {
        _first = first;
        _count = count;
        _items = Items(count);
        _streaming = streaming && _items > 1;
        if (_items == 1)
        {
            Execute(0);
        }
        else
        {
            WorkerPool.Run(this, _items, _items);
        }
    }

    private int Items(int count) =>
        (int)Math.Clamp((long)count * _source.FeatureSize / MinFeaturesPerThread, 1, Parallelism.CallerThreads);

    // Rows [start, start + n) of the batch after this one, as far as the order goes: this thread's share of it if the
    // next batch is split as this one. It may not be (the last batch of an epoch is shorter, and Fit's StepThreadChooser
    // may run the next step on another number of threads): then a hint warms the wrong core's translations and lines,
    // which costs time, not a result. At the end of the order the next epoch's is not drawn yet: nothing.
    private ReadOnlySpan<int> NextRows(int start, int n)
    {
        int from = Math.Min(_first + _count + start, _order.Length);
        return _order.AsSpan(from, Math.Min(n, _order.Length - from));
    }

    public void Execute(int index)
    {
        int size = _source.FeatureSize, width = _source.TargetSize;
        int start = (int)((long)_count * index / _items), end = (int)((long)_count * (index + 1) / _items), n = end - start;
        _source.Gather(_order.AsSpan(_first + start, n), _features.AsSpan(start * size, n * size),
            _source.HasLabels ? _labels.AsSpan(start, n) : default,
            _source.HasLabels ? default : _targets.AsSpan(start * width, n * width),
            _weights.Length == 0 ? default : _weights.AsSpan(start, n), streaming: _streaming);
        _source.PrefetchPages(NextRows(start, n));
        if (_streaming)
        {
            // The step's threads each read every row; streaming stores skip taking back, line by line, what the other
            // core read of this buffer in the last step (Elementwise.BytesToSinglesStreaming). In the training loop,
            // two threads, 784-128-10 at batch 128 (AMD EPYC Zen 5, 2 real cores): the gather 28-30 -> 19-22 µs a step,
            // epochs 129.5 -> 123.3 ms (best of 8, alternating in one process); 784-1024-10 within noise. With the vCPUs
            // close, ordinary stores cost less (StepThreadChooser.GatherStores).
            Elementwise.StreamingFence();
        }
    }
}
