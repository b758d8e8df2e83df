using System.Runtime.CompilerServices;
using NeuralCore.Kernels;
using NeuralCore.Layers;
using NeuralCore.Optimizers;
using NeuralCore.Threading;

namespace NeuralCore.Models;

/// <summary>
/// Applies an element-wise optimizer's step to a model's arena on several threads, each thread updating the block of
/// rows of every dense layer's weights whose gradient it computed (<see cref="Gemm.WeightGradient"/>'s partition), or,
/// for a layer in panel order whose step divides its columns (<see cref="PanelLayout.OwnedColumnSlices"/>), its block of
/// columns, and the matching rows of the narrow layer above its ReLU where the owner's product computes that layer's
/// weight gradient.
/// </summary>
/// <remarks>
/// On two real cores, a single-threaded update made a two-thread training step slower than a one-thread step: it read
/// the half of the gradient the other core had written, and wrote weights, moments and all, on one core. Dividing it
/// by columns of the weight matrices was worse still (ten times slower than one thread at 784 x 128): each thread's
/// runs of a row end where the other's begin, and the hardware prefetchers, streaming past the end of a run, kept
/// pulling the other core's lines across. So each thread updates contiguous blocks: the rows of each weight matrix
/// whose gradient it wrote; for a layer in panel order whose columns threads own, one run per k block (at 784 x 1024
/// on two threads, four runs of 400 KB each, so what the prefetchers pull past the ends is a small share). The update
/// is element-wise, so the partition never changes a result.
/// </remarks>
internal sealed class OptimizerStep : IParallelWork
{
    private readonly List<ILayer> _layers;
    private readonly int[] _offsets;

    // Per layer, this step's slices and how they divide it, fixed in Run: Execute must not ask again, since the thread
    // count can change in between (another thread setting DegreeOfParallelism, FmaThreads measured anew). _mr is the rows
    // per panel of a row partition; _owner the layer whose column slices divide this one (itself, or the layer below).
    private readonly int[] _slices;
    private readonly int[] _mr;
    private readonly Partition[] _partition;
    private readonly int[] _owner;

    private enum Partition
    {
        /// <summary>Rows of the weights in _slices blocks of _mr-row panels (the bias with the last).</summary>
        Rows,

        /// <summary>Each k block's panels of a layer in panel order, by column slice (the bias by the same columns).</summary>
        OwnedColumns,

        /// <summary>Rows of the weights as the owner's column slices (its units are this layer's inputs; the bias with the last).</summary>
        OwnerRows,
    }

    private IElementwiseOptimizer? _optimizer;
    private bool _regularize;
    private Memory<float> _parameters;
    private Memory<float> _gradients;
    private int _items;

    public OptimizerStep(List<ILayer> layers)
    {
        _layers = layers;
        _offsets = new int[layers.Count];
        _slices = new int[layers.Count];
        _mr = new int[layers.Count];
        _partition = new Partition[layers.Count];
        _owner = new int[layers.Count];
        int offset = 0;
        for (int i = 0; i < layers.Count; i++)
        {
            _offsets[i] = offset;
            offset += layers[i].ParameterCount;
        }
    }

    /// <summary>
    /// One step of <paramref name="optimizer"/> over the arena, for gradients of a batch of <paramref name="batch"/>;
    /// with <paramref name="regularize"/>, each regularized layer's gradients get their regularizers' terms
    /// (<see cref="Dense.AddRegularizationGradient"/>) range by range, on the thread that updates the range, just before its update, which the optimizer must allow
    /// (<see cref="IElementwiseOptimizer.TakesGradientsInPieces"/>).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void Run(IElementwiseOptimizer optimizer, Memory<float> parameters, Memory<float> gradients, int batch, bool regularize = false)
    {
        if (regularize && !optimizer.TakesGradientsInPieces)
        {
            throw new InvalidOperationException("The optimizer's step reads the whole gradient first; add the regularizers' terms before it.");
        }

        optimizer.BeginStep(parameters.Span, gradients.Span);
        _optimizer = optimizer;
        _regularize = regularize;
        _parameters = parameters;
        _gradients = gradients;
        _items = 1;
        int owner = -1;
        for (int i = 0; i < _layers.Count; i++)
        {
            (_slices[i], _mr[i], _partition[i], _owner[i]) = (1, 1, Partition.Rows, i);
            if (_layers[i] is not Dense dense)
            {
                continue;
            }

            int owned = dense.PanelOrder.OwnedColumnSlices(batch);
            if (owned > 0)
            {
                (_slices[i], _partition[i]) = (owned, Partition.OwnedColumns);
                owner = i;
            }
            else if (owner >= 0 && i == owner + 2 && _layers[owner] is Dense { Activation: Activation.Linear } below
                && _layers[owner + 1] is Relu { IsPlain: true } && dense.Activation == Activation.Linear && below.ComputesUpperGradient(dense))
            {
                // The narrow layer above an owning one's ReLU, whose weight gradient the owner's weight-gradient product
                // computes (Dense.BackwardThroughRelu): its rows are the owner's units, each on the thread that owns them.
                (_slices[i], _partition[i], _owner[i]) = (_slices[owner], Partition.OwnerRows, owner);
            }
            else
            {
                Gemm.RowPartition(dense.InputSize, dense.Units, batch, out _slices[i], out _mr[i]);
            }

            _items = Math.Max(_items, _slices[i]);
        }

        try
        {
            if (_items == 1 && !regularize)
            {
                optimizer.UpdateRange(parameters.Span, gradients.Span, 0, parameters.Length);
            }
            else if (_items == 1)
            {
                Execute(0);
            }
            else
            {
                // Each slice in parts, which a thread done with its own takes from one the host has slowed (GemmJob.Items).
                WorkerPool.Run(this, _items * Parts, _items);
            }
        }
        finally
        {
            _optimizer = null;
            _regularize = false;
            _parameters = default;
            _gradients = default;
        }

        optimizer.EndStep();
    }

    /// <summary>The parts of each slice's ranges on several threads: item i is part i / slices of slice i % slices.</summary>
    internal const int Parts = 4;

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void Execute(int index)
    {
        IElementwiseOptimizer optimizer = _optimizer!;
        int part = 0;
        if (_items > 1)
        {
            (index, part) = (index % _items, index / _items);
        }

        for (int i = 0; i < _layers.Count; i++)
        {
            ILayer layer = _layers[i];
            int count = layer.ParameterCount;
            if (count == 0)
            {
                continue;
            }

            int offset = _offsets[i];
            int slices = _slices[i], mr = _mr[i];

            if (slices == 1)
            {
                // A layer whose gradient one thread computed: updated by the first slice's parts.
                if (index == 0)
                {
                    UpdatePart(optimizer, i, offset, count, part);
                }

                continue;
            }

            if (index >= slices)
            {
                continue;
            }

            var d = (Dense)layer;
            if (_partition[i] == Partition.OwnedColumns)
            {
                // In panel order each k block holds the slice's columns as one run of whole panels.
                PanelLayout layout = d.PanelOrder;
                (int column0, int column1) = layout.ColumnSlice(slices, index);
                for (int p0 = 0; p0 < d.InputSize; p0 += layout.Kc)
                {
                    int kc = Math.Min(layout.Kc, d.InputSize - p0);
                    UpdatePart(optimizer, i, offset + (p0 * d.Units) + (column0 * kc), (column1 - column0) * kc, part);
                }

                if (d.UseBias)
                {
                    UpdatePart(optimizer, i, offset + (d.InputSize * d.Units) + column0, column1 - column0, part);
                }

                continue;
            }

            // W[InputSize, Units] row-major: this slice's rows are one contiguous run. The bias (Units values) goes
            // with the last slice, the one whose rows end next to it.
            int row0, row1;
            if (_partition[i] == Partition.OwnerRows)
            {
                (row0, row1) = ((Dense)_layers[_owner[i]]).PanelOrder.ColumnSlice(slices, index);
            }
            else
            {
                int panels = (d.InputSize + mr - 1) / mr;
                (int first, int end) = GemmPlan.Slice(panels, slices, index);
                (row0, row1) = (first * mr, Math.Min(end * mr, d.InputSize));
            }

            int length = (row1 - row0) * d.Units;
            if (index == slices - 1 && d.UseBias)
            {
                length += d.Units;
            }

            UpdatePart(optimizer, i, offset + (row0 * d.Units), length, part);
        }
    }

    // Part `part` of a range, in whole runs of 16 elements (the update is element-wise: any division gives the same bits).
    private void UpdatePart(IElementwiseOptimizer optimizer, int layer, int offset, int length, int part)
    {
        int parts = _items > 1 ? Parts : 1;
        (int first, int end) = GemmPlan.Slice((length + 15) / 16, parts, part);
        int start = first * 16, stop = Math.Min(end * 16, length);
        if (stop > start)
        {
            Update(optimizer, layer, offset + start, stop - start);
        }
    }

    /// <summary>Updates arena elements <c>[offset, offset + length)</c> of layer <paramref name="layer"/>, first adding its regularizers' terms when the step does.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void Update(IElementwiseOptimizer optimizer, int layer, int offset, int length)
    {
        if (!_regularize || _layers[layer] is not Dense { IsRegularized: true, Trainable: true } dense)
        {
            optimizer.UpdateRange(_parameters.Span, _gradients.Span, offset, length);
            return;
        }

        // The whole range, then its update: in pieces of a few thousand (each piece's terms added while its gradients
        // were in the L1 cache) the one-thread update took 5% longer, since Adam is bound by its arithmetic there and
        // the terms' loads no longer ran beside another pass's. On the core that computed these gradients, the range's
        // lines are this core's, which a serial pass before the step was not for the other thread's half.
        dense.AddRegularizationGradient(offset - _offsets[layer], length);
        optimizer.UpdateRange(_parameters.Span, _gradients.Span, offset, length);
    }
}
