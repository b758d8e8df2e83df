using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using NeuralCore.Data;
using NeuralCore.Kernels;
using NeuralCore.Models;
using NeuralCore.Threading;

namespace NeuralCore.Training;

/// <summary>
/// Gathers one batch of shuffled samples into the batch buffers, split among threads when the batch is large: the
/// rows come from all over the dataset, so each is a cache miss, and two cores wait for twice as many at once. Where the
/// model's first product divides its reduction (the features) among the step's threads, each thread gathers the
/// columns it reads there; otherwise the rows are divided.
/// </summary>
internal sealed unsafe class BatchGather : IParallelWork
{
    // Below this many features per batch one thread gathers it faster than two (fork and join cost about a microsecond).
    private const int MinFeaturesPerThread = 16 * 1024;

    private readonly SampleSource _source;
    private readonly int[] _order;
    private readonly float[] _features;
    private readonly int[] _labels;
    private readonly float[] _targets;
    private readonly float[] _weights;
    private readonly int[] _columnStarts = new int[WorkerPool.MaxItems + 1];
    private int _first;
    private int _count;
    private int _items;
    private bool _byColumns;
    private int _alignment;

    /// <summary>Whether the last <see cref="Run"/> divided the features among threads rather than the rows (tests).</summary>
    internal bool LastRunByColumns => _byColumns;

    public BatchGather(SampleSource source, int[] order, float[] features, int[] labels, float[] targets, float[] weights)
    {
        _source = source;
        _order = order;
        _features = features;
        _labels = labels;
        _targets = targets;
        _weights = weights;
    }

    /// <summary>
    /// Rows <c>order[first .. first + count)</c> into rows <c>0 .. count</c> of the buffers, for a step of
    /// <paramref name="model"/> (when given) on the current thread limit.
    /// </summary>
    public void Run(int first, int count, Sequential? model = null)
    {
        _first = first;
        _count = count;
        _items = (int)Math.Clamp((long)count * _source.FeatureSize / MinFeaturesPerThread, 1, Parallelism.CallerThreads);
        _byColumns = false;
        if (_items > 1 && model is not null && model.TryForwardInputSlices(count, _columnStarts, out int slices) && slices <= Parallelism.CallerThreads)
        {
            // Each thread's columns land in its own cache, where its share of the first product, and on two threads its
            // rows of the weight gradient, read them; rows gathered in halves were read half from the other core, and
            // streamed to memory to spare that core's lines (AMD EPYC Zen 5, 2 real cores, 784-512-10 at batch 128:
            // the forward product took 212 µs a step in training against 202 µs on a batch already in cache).
            _items = slices;
            _byColumns = true;
            // The buffer is not pinned: should the collector move it, the bounds (the same for both neighbours, from this
            // one value) still tile every row, only no longer on line starts.
            _alignment = (int)(((nint)Unsafe.AsPointer(ref MemoryMarshal.GetArrayDataReference(_features)) & 63) / sizeof(float));
        }

        if (_items == 1)
        {
            Execute(0);
        }
        else
        {
            WorkerPool.Run(this, _items, _items);
        }
    }

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
        if (_byColumns)
        {
            ReadOnlySpan<int> rows = _order.AsSpan(_first, _count);
            _source.GatherColumns(rows, _features.AsSpan(0, _count * size), _columnStarts[index], _columnStarts[index + 1], _alignment);
            if (index == 0)
            {
                _source.GatherTargets(rows, _source.HasLabels ? _labels.AsSpan(0, _count) : default,
                    _source.HasLabels ? default : _targets.AsSpan(0, _count * width), _weights.Length == 0 ? default : _weights.AsSpan(0, _count));
            }

            _source.PrefetchPages(NextRows(0, _count), _columnStarts[index], _columnStarts[index + 1], _alignment);
            return;
        }

        int start = (int)((long)_count * index / _items), end = (int)((long)_count * (index + 1) / _items), n = end - start;
        _source.Gather(_order.AsSpan(_first + start, n), _features.AsSpan(start * size, n * size),
            _source.HasLabels ? _labels.AsSpan(start, n) : default,
            _source.HasLabels ? default : _targets.AsSpan(start * width, n * width),
            _weights.Length == 0 ? default : _weights.AsSpan(start, n), streaming: _items > 1);
        _source.PrefetchPages(NextRows(start, n), 0, size, 0);
        if (_items > 1)
        {
            // The step's threads each read every row; streaming stores skip taking back, line by line, what the other
            // core read of this buffer in the last step (Elementwise.BytesToSinglesStreaming). In the training loop,
            // two threads, 784-128-10 at batch 128 (AMD EPYC Zen 5, 2 real cores): the gather 28-30 -> 19-22 µs a step,
            // epochs 129.5 -> 123.3 ms (best of 8, alternating in one process); 784-1024-10 within noise.
            Elementwise.StreamingFence();
        }
    }
}
