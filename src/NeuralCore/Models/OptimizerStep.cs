using System.Runtime.CompilerServices;
using NeuralCore.Kernels;
using NeuralCore.Layers;
using NeuralCore.Optimizers;
using NeuralCore.Threading;

namespace NeuralCore.Models;

/// <summary>
/// Applies an element-wise optimizer's step to a model's arena on several threads, each thread updating the block of
/// rows of every dense layer's weights whose gradient it computed (<see cref="Gemm.WeightGradient"/>'s partition).
/// </summary>
/// <remarks>
/// On two real cores, a single-threaded update made a two-thread training step slower than a one-thread step: it read
/// the half of the gradient the other core had written, and wrote weights, moments and all, on one core. Dividing it
/// by columns of the weight matrices was worse still (ten times slower than one thread at 784 x 128): each thread's
/// runs of a row end where the other's begin, and the hardware prefetchers, streaming past the end of a run, kept
/// pulling the other core's lines across. So each thread updates contiguous blocks: the rows of each weight matrix
/// whose gradient it wrote. The update is element-wise, so the partition never changes a result.
/// </remarks>
internal sealed class OptimizerStep : IParallelWork
{
    private readonly List<ILayer> _layers;
    private readonly int[] _offsets;

    // Per layer, this step's row slices and rows per panel, fixed in Run: Execute must not ask again, since the thread
    // count can change in between (another thread setting DegreeOfParallelism, FmaThreads measured anew).
    private readonly int[] _slices;
    private readonly int[] _mr;
    private IElementwiseOptimizer? _optimizer;
    private Memory<float> _parameters;
    private Memory<float> _gradients;
    private int _items;

    public OptimizerStep(List<ILayer> layers)
    {
        _layers = layers;
        _offsets = new int[layers.Count];
        _slices = new int[layers.Count];
        _mr = new int[layers.Count];
        int offset = 0;
        for (int i = 0; i < layers.Count; i++)
        {
            _offsets[i] = offset;
            offset += layers[i].ParameterCount;
        }
    }

    /// <summary>One step of <paramref name="optimizer"/> over the arena, for gradients of a batch of <paramref name="batch"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void Run(IElementwiseOptimizer optimizer, Memory<float> parameters, Memory<float> gradients, int batch)
    {
        optimizer.BeginStep(parameters.Length, gradients.Span);
        _optimizer = optimizer;
        _parameters = parameters;
        _gradients = gradients;
        _items = 1;
        for (int i = 0; i < _layers.Count; i++)
        {
            (_slices[i], _mr[i]) = (1, 1);
            if (_layers[i] is Dense dense)
            {
                Gemm.RowPartition(dense.InputSize, dense.Units, batch, out _slices[i], out _mr[i]);
                _items = Math.Max(_items, _slices[i]);
            }
        }

        try
        {
            if (_items == 1)
            {
                optimizer.UpdateRange(parameters.Span, gradients.Span, 0, parameters.Length);
            }
            else
            {
                WorkerPool.Run(this, _items, _items);
            }
        }
        finally
        {
            _optimizer = null;
            _parameters = default;
            _gradients = default;
        }

        optimizer.EndStep();
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void Execute(int index)
    {
        IElementwiseOptimizer optimizer = _optimizer!;
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
                // A layer whose gradient one thread computed: updated whole, by the first item.
                if (index == 0)
                {
                    optimizer.UpdateRange(_parameters.Span, _gradients.Span, offset, count);
                }

                continue;
            }

            if (index >= slices)
            {
                continue;
            }

            // W[InputSize, Units] row-major: this slice's rows are one contiguous run. The bias (Units values) goes
            // with the last slice, the one whose rows end next to it.
            var d = (Dense)layer;
            int panels = (d.InputSize + mr - 1) / mr;
            (int first, int end) = GemmPlan.Slice(panels, slices, index);
            int row0 = first * mr, row1 = Math.Min(end * mr, d.InputSize);
            int length = (row1 - row0) * d.Units;
            if (index == slices - 1 && d.UseBias)
            {
                length += d.Units;
            }

            optimizer.UpdateRange(_parameters.Span, _gradients.Span, offset + (row0 * d.Units), length);
        }
    }
}
