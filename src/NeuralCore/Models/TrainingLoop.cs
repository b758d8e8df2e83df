using NeuralCore.Configuration;
using NeuralCore.Losses;

namespace NeuralCore.Models;

/// <summary>
/// A training loop of your own at <c>Fit</c>'s speed, begun by <see cref="Sequential.BeginTrainingLoop"/> and ended by
/// <see cref="Dispose"/>: while it lasts, <see cref="Sequential.TrainStep(ReadOnlySpan{float}, LossTargets, int)"/> on
/// the thread that began it keeps the first dense layer's weights, their gradient and the optimizer's state for them in
/// the order its products read them, as <c>Fit</c> does during an epoch, instead of row-major. The forward product
/// then reads the weights where the optimizer wrote them without packing them every step, and on several cores each
/// thread keeps its own block of the layer's units through the whole step (a step of 784-1024-10 at batch 32 on two
/// Zen 5 cores took 494-521 µs in a plain loop and 357-380 µs in this one; docs/benchmarks.md). Results are bitwise
/// those of the same steps without it.
/// </summary>
/// <remarks>
/// <para>
/// Between steps, read and change the model through the library on the loop's thread as usual
/// (<c>Predict</c>, <c>Evaluate</c>, <see cref="Sequential.Parameters"/>, <see cref="Sequential.Gradients"/>,
/// <see cref="Sequential.ComputeGradients(ReadOnlySpan{float}, LossTargets, int)"/>, <c>ModelFile.Save</c> and
/// <c>LoadWeights</c>, ONNX export, and the first layer's own views <see cref="Layers.Layer.Parameters"/>,
/// <see cref="Layers.Layer.Gradients"/> and <see cref="Layers.Dense.Weights"/>, and the optimizer's
/// <see cref="Optimizers.Optimizer.State"/>): each puts the weights back in row-major order first. The first layer's
/// <see cref="Layers.Dense.Bias"/> and the later layers' views are never reordered and leave the loop as it is. A view
/// taken before a step may show the products' order after it: take it again after the step. The loop returns to the
/// products' order after <see cref="StepsBeforePanelOrder"/> steps with no read between them, or, after reads fewer
/// than <see cref="MinStepsBetweenReads"/> steps apart, after twice their interval (a pair of reorderings costs what
/// 5-30 steps in the products' order save, so a loop that reads every few steps stays row-major, at the speed of the
/// same loop without it).
/// </para>
/// <para>
/// The loop holds the model as <c>Fit</c> does: another thread's training, <c>Predict</c>, <c>Evaluate</c>,
/// <c>ModelFile.Save</c> and ONNX export are refused until it ends (views of the model, its layers and the optimizer's
/// state read from another thread are not refused, and may show the products' order), and <c>Fit</c>, <c>Compile</c>
/// and a second loop are refused inside it. A loop never disposed keeps the model held while its thread lives (once
/// that thread has ended, the next call on the model from any thread ends the loop as <see cref="Dispose"/> would; a
/// thread-pool thread, as in <c>Task.Run</c>, never ends), so begin it with <c>using</c>; and since it must be disposed on the thread that began it, do not <c>await</c> inside it (a continuation on another thread would make <see cref="Dispose"/> throw and hide the
/// body's own exception). A loss and optimizer that do not allow the layout (a custom optimizer,
/// <see cref="Optimizers.Optimizer.ClipNorm"/> or <see cref="Optimizers.Optimizer.GlobalClipNorm"/>, a first layer that
/// is not a dense layer with panels) leave every step row-major, exactly as without the loop.
/// </para>
/// <code>
/// using (TrainingLoop loop = model.BeginTrainingLoop())
/// {
///     for (int step = 0; step &lt; steps; step++)
///     {
///         model.TrainStep(x.AsSpan(step * batch * 784, batch * 784), y.AsSpan(step * batch, batch), batch);
///     }
/// }
/// </code>
/// </remarks>
public sealed class TrainingLoop : IDisposable
{
    /// <summary>
    /// How many steps in a row, with no read of the model between them, the loop runs row-major before it puts the
    /// first layer back in the products' order, at its start and after reads at least
    /// <see cref="MinStepsBetweenReads"/> steps apart: 4.
    /// </summary>
    public const int StepsBeforePanelOrder = 4;

    /// <summary>
    /// The fewest steps between two reads after which the loop reorders again soon (after
    /// <see cref="StepsBeforePanelOrder"/> steps): 32. After reads closer together it waits for twice their interval
    /// with no read, since a pair of reorderings costs what 5-30 steps in the products' order save.
    /// </summary>
    public const int MinStepsBetweenReads = 32;

    private readonly int _thread;
    private readonly long _number;
    private bool _disposed;

    internal TrainingLoop(Sequential model, long number)
    {
        Model = model;
        _number = number;
        _thread = Environment.CurrentManagedThreadId;
    }

    /// <summary>The model the loop trains.</summary>
    public Sequential Model { get; }

    /// <summary>
    /// Ends the loop: the first layer's weights are row-major again and the model is released. A second call does
    /// nothing.
    /// </summary>
    /// <exception cref="InvalidOperationException">Called from another thread than the one that began the loop while that thread still runs (once it has ended, any thread may end the loop).</exception>
    public void Dispose()
    {
        if (_disposed || !Model.HoldsLoop(_number))
        {
            // Also a loop the model ended because its thread had ended without disposing it: nothing is left to end.
            _disposed = true;
            return;
        }

        if (Environment.CurrentManagedThreadId != _thread && !(Model.EndAbandonedLoop() && !Model.HoldsLoop(_number)))
        {
            throw new InvalidOperationException(
                $"The TrainingLoop of the model '{Names.Printable(Model.Name)}' was disposed on another thread than the one that began it; dispose it on that thread.");
        }

        _disposed = true;
        Model.EndTrainingLoop(_number);
    }
}
