using System.Buffers;
using System.Globalization;
using System.Numerics.Tensors;
using System.Runtime.CompilerServices;
using System.Text;
using NeuralCore.Configuration;
using NeuralCore.Kernels;
using NeuralCore.Layers;
using NeuralCore.Losses;
using NeuralCore.Optimizers;
using NeuralCore.Randomness;
using NeuralCore.Scoring;
using NeuralCore.Threading;

namespace NeuralCore.Models;

/// <summary>
/// A stack of layers trained as one model (a classifier or a regressor, as its loss says), built the Keras way:
/// <code>
/// var model = new Sequential(inputSize: 784, seed: 42)
///     .Add(new Dense(128)).Add(new Relu()).Add(new Dense(10));
/// model.Compile(new SoftmaxCrossEntropy(), new Adam());
/// </code>
/// </summary>
/// <remarks>
/// All parameters live in one flat arena (<see cref="Parameters"/>), all gradients in another, so an optimizer step is
/// one pass. The model owns its activation and gradient buffers, grown to the largest batch seen (or given to
/// <see cref="Compile"/>): after that a training step allocates nothing. One seed fixes every layer's initialization
/// and dropout masks; results are bitwise identical for any <see cref="Parallelism.DegreeOfParallelism"/>.
/// </remarks>
public sealed class Sequential : IArenaOwner
{
    private readonly List<ILayer> _layers = [];
    private readonly Dictionary<string, int> _nameCounts = new(StringComparer.Ordinal);
    // The arena and its gradients, each starting on a 64-byte boundary of a pinned array: a few-row product on two
    // threads read a dense layer's weights 40% slower when its rows were 16 bytes off a cache line (see Compile).
    private Memory<float> _parameters = Memory<float>.Empty;
    private Memory<float> _gradients = Memory<float>.Empty;
    private float[][] _activations = [];
    private float[] _gradA = [];
    private float[] _gradB = [];
    private int _capacity;

    // _fusedRelu[i]: layer i is a Dense without activation and layer i + 1 a plain Relu, run as one product whose output tiles get the bias
    // and ReLU as they are stored (and whose backward mask is applied by the next Dense's input-gradient product, or, under a
    // narrow output layer when layer i is the first, by layer i's weight gradient as it computes that input gradient).
    private bool[] _fusedRelu = [];

    private OptimizerStep? _optimizerStep;

    // The layer of each of the optimizer's variables (from Compile), and which of them this step leaves as they are.
    private int[] _segmentLayers = [];
    private bool[] _frozenSegments = [];
    private long _stepFmaPerSample;

    /// <summary>
    /// Multiply-adds a training step must give each thread before it uses another. Measured on the AMD EPYC Zen 5
    /// with two real cores (docs/benchmarks.md, 2026-11-30): 784-16-10 at batch 128 (3.3 M multiply-adds a step) trained
    /// 5-25% slower per epoch on two threads than on one, although its weight gradient alone was faster on two: the
    /// step's threads gather the batch, compute the weight gradient and update the weights in halves, and the
    /// narrow forward product then reads both halves on one core. 784-128-10 at batch 32 (6.5 M) gained 5-13%.
    /// </summary>
    internal const long MinStepFmaPerThread = 1L << 21;

    /// <summary>
    /// One thread's FMA rate where <see cref="MinStepFmaPerThread"/> was measured: the FMA probe on one core of the
    /// AMD EPYC Zen 5 (512-bit, 2026-12-04), in floating-point operations a second.
    /// </summary>
    internal const double ReferenceOneThreadFlops = 213e9;

    /// <summary>
    /// <see cref="MinStepFmaPerThread"/> on a machine whose one thread multiply-adds at <paramref name="oneThreadFlops"/>
    /// (0: not measured): lowered, down to half, on cores with less than 40% of the reference rate. On the AMD EPYC Zen 1
    /// (AVX2, 43 GFLOP/s a core, 2 real cores; docs/benchmarks.md, 2026-12-04) 784-16-10 at batch 128 (3.3 M multiply-adds
    /// a step) trained 1.6x faster per epoch on two threads than on one (0.094 against 0.150 s), where on the Zen 5 it was
    /// slower; 784-8-10 at batch 128 and 784-16-10 at batch 64 (1.6 M) were still 0-10% slower on two. Cores between 40%
    /// and 100% of the reference (a Zen 4 at 117 GFLOP/s) keep the reference threshold: nothing was measured there.
    /// </summary>
    internal static long StepFmaThreshold(double oneThreadFlops) =>
        oneThreadFlops <= 0
            ? MinStepFmaPerThread
            : (long)(MinStepFmaPerThread * Math.Clamp(2.5 * oneThreadFlops / ReferenceOneThreadFlops, 0.5, 1.0));

    // StepFmaThreshold for this model, fixed at its first step (0 until then): were it read afresh, a rate measured in the
    // middle of a training (by another model's first parallel product) could move its steps to more threads, and the
    // first step on more threads allocates their buffers.
    private long _stepThreshold;

    /// <summary>This model's <see cref="StepFmaThreshold"/> once fixed (0 before its first step); tests fix it beforehand.</summary>
    internal long StepThreshold
    {
        get => _stepThreshold;
        set => _stepThreshold = value;
    }

    /// <summary>
    /// The threads a training step on <paramref name="batch"/> samples may use (see <see cref="StepFmaThreshold"/>, fixed
    /// at the model's first call).
    /// </summary>
    internal int StepThreads(int batch)
    {
        long threshold = _stepThreshold;
        if (threshold == 0)
        {
            // The rate is measured with the FMA units' count, at the first parallel product, and a step's threads are
            // chosen before it runs any: ask for it here (a few milliseconds, once per process).
            if (Parallelism.DegreeOfParallelism > 1)
            {
                _ = Parallelism.FmaThreads;
            }

            threshold = _stepThreshold = StepFmaThreshold(Threading.FmaCalibration.OneThreadFlops);
        }

        return (int)Math.Clamp(batch * _stepFmaPerSample / threshold, 1, Parallelism.CallerThreads);
    }

    /// <summary>
    /// Whether <see cref="EnterPanelOrder"/> may reorder the first layer's weights (tests and benchmarks compare the two
    /// orders; results are bitwise the same either way).
    /// </summary>
    internal static bool PanelOrderEnabled { get; set; } = true;

    /// <summary>Whether the first layer's weights are in panel order now (<see cref="EnterPanelOrder"/>).</summary>
    internal bool IsInPanelOrder => _panelOrdered is not null;

    // The first layer while its weights are in panel order (EnterPanelOrder), else null, and the scratch held meanwhile.
    private Dense? _panelOrdered;
    private float[]? _panelScratch;
    private int _panelScratchSlices;
    private ReorderJob? _reorderJob;

    /// <summary>
    /// Keeps the first layer's weights, their gradient and the optimizer's state for them in the order the layer's
    /// products read them (<see cref="PanelLayout"/>) until <see cref="ExitPanelOrder"/>: the forward product then reads
    /// the weights where the optimizer wrote them instead of packing them again every step (a quarter of that product's
    /// time at batch 32, docs/benchmarks.md). Fit calls it around each epoch's steps, when no callback can see the
    /// weights in between. Results are bitwise the same: the products compute the same sums, and the optimizer updates
    /// each element from its own gradient and state wherever they are. Nothing happens, and it returns false, where the
    /// layout does not apply: the first layer is not a dense layer with panels (at most 16 units on the 512-bit path,
    /// or a width the tile does not divide), the optimizer is not one of the library's element-by-element rules (a
    /// custom <see cref="IOptimizer"/> or <see cref="Optimizer"/> subclass, or <see cref="Optimizer.ClipNorm"/> and
    /// <see cref="Optimizer.GlobalClipNorm"/>, whose norms would be summed in another order), or its state was
    /// initialized for another model (the step then fails as it would have).
    /// </summary>
    internal bool EnterPanelOrder()
    {
        // Every range is checked before anything moves: a failure halfway would leave the weights reordered unseen.
        if (_panelOrdered is not null || !PanelOrderEnabled || Optimizer is not Optimizer optimizer || !KeepsPanelOrder(optimizer)
            || optimizer.InitializedCount != _parameters.Length
            || optimizer.StateStorage.Length < (long)optimizer.StateSlotCount * _parameters.Length
            || _gradients.Length != _parameters.Length
            || _layers.Count == 0 || _layers[0] is not Dense { ParameterCount: > 0 } dense
            || !PanelLayout.TryCreate(dense.InputSize, dense.Units, KernelIsaSupport.Best, out PanelLayout layout))
        {
            return false;
        }

        // One k block of scratch for each thread that reorders, held until ExitPanelOrder so that going back cannot fail
        // for want of memory; without it the weights simply stay row-major.
        int arrays = 2 + optimizer.StateSlotCount, slices = Math.Min(Parallelism.ComputeThreads, arrays);
        float[] scratch;
        try
        {
            scratch = ArrayPool<float>.Shared.Rent(checked(layout.ScratchLength * slices));
        }
        catch (Exception e) when (e is OutOfMemoryException or OverflowException)
        {
            return false;
        }

        _panelScratch = scratch;
        _panelScratchSlices = slices;
        Reorder(dense, layout, optimizer, scratch, toPanels: true);
        dense.PanelOrder = layout;
        _panelOrdered = dense;
        return true;
    }

    // The optimizer's settings under which panel order gives bitwise the row-major results: element-by-element rules
    // whose clipping sums no norm (a norm would be summed in another order).
    private static bool KeepsPanelOrder(Optimizer optimizer) =>
        optimizer.UpdatesElementByElement && optimizer.ClipNorm <= 0 && optimizer.GlobalClipNorm <= 0;

    /// <summary>
    /// Begins a training loop of your own that runs <see cref="TrainStep(ReadOnlySpan{float}, LossTargets, int)"/> at
    /// <c>Fit</c>'s speed, with the first dense layer's weights kept in its products' order between steps (see
    /// <see cref="TrainingLoop"/>); results are bitwise those of the same steps without it. Dispose it on the same thread
    /// to end it.
    /// </summary>
    /// <returns>The loop, which holds the model until disposed.</returns>
    /// <exception cref="InvalidOperationException">The model is not compiled; another thread trains it; or this thread does (a callback of <c>Fit</c>, or a loop begun already).</exception>
    public TrainingLoop BeginTrainingLoop()
    {
        if (!IsCompiled)
        {
            throw new InvalidOperationException("The model is not compiled: call Compile(loss, optimizer) before BeginTrainingLoop.");
        }

        EnterTraining(nameof(BeginTrainingLoop), reentrant: false);
        _loopStepsRowMajor = _loopStepsSinceRead = 0;
        _loopWait = TrainingLoop.StepsBeforePanelOrder;
        _loop = ++_loopsBegun;
        Volatile.Write(ref _loopThread, Thread.CurrentThread);
        return new TrainingLoop(this, _loop);
    }

    // The thread that began the loop holding the model, else null.
    private Thread? _loopThread;
    private readonly Lock _abandonGate = new();

    /// <summary>Whether the loop numbered <paramref name="loop"/> still holds the model (not disposed, not ended as abandoned).</summary>
    internal bool HoldsLoop(long loop) => Volatile.Read(ref _loop) == loop;

    /// <summary>
    /// Ends the loop holding the model when the thread that began it has ended without disposing it, and says whether
    /// no such loop holds it any more: no one could dispose it (<see cref="TrainingLoop.Dispose"/> must run on that
    /// thread), and the model stayed held for good, with a message blaming "another thread" that no longer ran. Ended as
    /// its Dispose would have ended it (the weights row-major, the model released). A thread-pool thread never ends, so
    /// a loop begun on one (in <c>Task.Run</c>, or continued after an <c>await</c>) is never ended this way.
    /// </summary>
    internal bool EndAbandonedLoop()
    {
        Thread? owner = Volatile.Read(ref _loopThread);
        if (owner is null || owner.IsAlive)
        {
            return false;
        }

        lock (_abandonGate)
        {
            if (ReferenceEquals(_loopThread, owner))
            {
                // Join orders the ended thread's last writes (its steps' weights) before the reordering here, on any
                // memory model; for an ended thread it returns at once.
                owner.Join();
                EndTrainingLoop(_loop);
            }

            return true;
        }
    }

    // The number of the loop that holds the model (BeginTrainingLoop), else 0 (the caller owns the loop, not the model);
    // the steps it has run row-major in a row since it began or since a read put the weights back; how many such steps
    // it waits for before reordering; and the steps since the last read.
    private long _loop;
    private long _loopsBegun;
    private int _loopStepsRowMajor;
    private int _loopWait;
    private int _loopStepsSinceRead;

    /// <summary>How many row-major steps in a row the current <see cref="TrainingLoop"/> waits for before it reorders (tests).</summary>
    internal int LoopWait => _loopWait;

    /// <summary>Ends the loop numbered <paramref name="loop"/> (<see cref="TrainingLoop.Dispose"/>, on the thread that began it).</summary>
    internal void EndTrainingLoop(long loop)
    {
        if (_loop != loop)
        {
            return;
        }

        ExitPanelOrder();
        Volatile.Write(ref _loopThread, null);
        _loop = 0;
        ExitTraining();
    }

    // A TrainStep of the loop on its thread: back to the products' order after _loopWait steps in a row with no read
    // between them (the optimizer and its settings cannot change meanwhile: Compile is refused inside the loop, and the
    // clipping settings are init-only).
    private void StepInLoop()
    {
        // Saturated: a loop may run longer than int.MaxValue steps without a read.
        _loopStepsSinceRead += _loopStepsSinceRead < int.MaxValue ? 1 : 0;
        if (_panelOrdered is not null)
        {
            return;
        }

        if (_loopStepsRowMajor < _loopWait)
        {
            _loopStepsRowMajor++;
            return;
        }

        EnterPanelOrder();
    }

    // Puts the first layer row-major for a read or a ComputeGradients on the loop's thread; the count of row-major steps
    // starts again. A pair of reorderings costs what 5-30 steps in the products' order save (in a loop at batch 32 on
    // two threads, before the arrays were reordered side by side: 0.15 ms against 5 µs a step at 784-128-10, 2.4 ms
    // against 120 µs at 784-1024-10; side by side the pair alone takes half as long; docs/benchmarks.md), and loops
    // read at a steady rhythm: after reads at least TrainingLoop.MinStepsBetweenReads steps apart the loop reorders
    // again soon, after closer ones it waits twice that interval, so that a loop reading every few steps stays
    // row-major (several reads in a row are one read).
    private void RowMajorForLoop()
    {
        if (_loopStepsSinceRead > 0)
        {
            _loopWait = _loopStepsSinceRead >= TrainingLoop.MinStepsBetweenReads ? TrainingLoop.StepsBeforePanelOrder : 2 * _loopStepsSinceRead;
        }

        ExitPanelOrder();
        _loopStepsRowMajor = _loopStepsSinceRead = 0;
    }

    /// <summary>Puts back in row-major order what <see cref="EnterPanelOrder"/> reordered; nothing if it did not.</summary>
    internal void ExitPanelOrder()
    {
        if (_panelOrdered is not { } dense)
        {
            return;
        }

        Reorder(dense, dense.PanelOrder, (Optimizer)Optimizer!, _panelScratch!, toPanels: false);
        dense.PanelOrder = default;
        _panelOrdered = null;
        ArrayPool<float>.Shared.Return(_panelScratch!);
        _panelScratch = null;
    }

    /// <summary>
    /// Runs <paramref name="action"/> (a callback's save between two of Fit's steps, on Fit's thread) with the weights
    /// row-major, and puts them back in panel order after it, if they were: a permutation each way, so the training goes
    /// on with bitwise the same numbers. Reads from other threads admitted while they were row-major finish before they
    /// move again.
    /// </summary>
    internal void WithRowMajorWeights(Action action)
    {
        if (_panelOrdered is null)
        {
            action();
            return;
        }

        ExitPanelOrder();
        try
        {
            action();
        }
        finally
        {
            bool inCallback = InCallback;
            LeaveCallbacks();
            EnterPanelOrder();
            InCallback = inCallback;
        }
    }

    // The first layer's weights start the arena (offset 0): the same range of the gradients and of each state slot.
    // The arrays are permuted side by side, each thread its own with its own k block of scratch: a copy bound by memory,
    // which two cores did in about half the time (docs/benchmarks.md); a permutation, so the thread count changes no bit.
    private void Reorder(Dense dense, in PanelLayout layout, Optimizer optimizer, float[] scratch, bool toPanels)
    {
        ReorderJob job = _reorderJob ??= new ReorderJob(this);
        (job.Layout, job.Optimizer, job.Length, job.ToPanels, job.Scratch) = (layout, optimizer, dense.InputSize * dense.Units, toPanels, scratch);
        job.Slices = Math.Min(_panelScratchSlices, Parallelism.ComputeThreads);
        try
        {
            WorkerPool.Run(job, job.Slices, job.Slices);
        }
        finally
        {
            (job.Optimizer, job.Scratch) = (null, null);
        }
    }

    /// <summary>One thread's share of <see cref="Reorder"/>: arrays <c>index, index + Slices, …</c> of the weights, their gradient and the state slots.</summary>
    private sealed class ReorderJob(Sequential model) : IParallelWork
    {
        public PanelLayout Layout { get; set; }

        public Optimizer? Optimizer { get; set; }

        public int Length { get; set; }

        public bool ToPanels { get; set; }

        public float[]? Scratch { get; set; }

        public int Slices { get; set; }

        public void Execute(int index)
        {
            Span<float> scratch = Scratch.AsSpan(index * Layout.ScratchLength, Layout.ScratchLength);
            for (int array = index; array < 2 + Optimizer!.StateSlotCount; array += Slices)
            {
                Span<float> values = array switch
                {
                    0 => model._parameters.Span[..Length],
                    1 => model._gradients.Span[..Length],
                    _ => Optimizer.StateRange(array - 2, 0, Length),
                };
                Layout.Reorder(values, scratch, ToPanels);
            }
        }
    }

    /// <summary>Creates an empty model for samples of <paramref name="inputSize"/> features.</summary>
    /// <param name="inputSize">Features per sample (784 for MNIST); positive.</param>
    /// <param name="seed">The seed of every layer's initializer and dropout masks.</param>
    /// <param name="name">The model's name in <see cref="Summary"/>.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="inputSize"/> is not positive.</exception>
    public Sequential(int inputSize, ulong seed = 0, string name = "sequential")
    {
        Check.Positive(inputSize, nameof(inputSize), "input size");

        Names.Check(name, nameof(name));
        InputSize = inputSize;
        Seed = seed;
        Name = name;
    }

    /// <summary>
    /// The managed thread id of the call that trains this model (<c>Fit</c>, or a <see cref="TrainStep(ReadOnlySpan{float}, LossTargets, int)"/>,
    /// <see cref="ComputeGradients(ReadOnlySpan{float}, LossTargets, int)"/> or <see cref="Compile"/> made outside one), 0 when none;
    /// taken and released with interlocked operations.
    /// </summary>
    internal int TrainingThread;

    /// <summary>
    /// Takes the model for <paramref name="operation"/> on the current thread and returns true, or returns false when
    /// this thread holds it already and <paramref name="reentrant"/> allows that (the steps <c>Fit</c> runs, a callback's
    /// call from inside <c>Fit</c>). Another thread's training would interleave with this one on one set of weights and
    /// buffers, so it is refused.
    /// </summary>
    /// <exception cref="InvalidOperationException">Another thread trains the model, or this one does and <paramref name="reentrant"/> is false.</exception>
    internal bool EnterTraining(string operation, bool reentrant)
    {
        int me = Environment.CurrentManagedThreadId;
        int holder = Volatile.Read(ref TrainingThread);
        if (holder != 0 && holder != me)
        {
            // Read again whatever it returns: another thread may be ending the same abandoned loop meanwhile.
            EndAbandonedLoop();
            holder = Volatile.Read(ref TrainingThread);
        }

        if (holder == me && reentrant)
        {
            return false;
        }

        if (holder == 0 && Interlocked.CompareExchange(ref TrainingThread, me, 0) == 0)
        {
            if (ReferenceEquals(t_reading, this))
            {
                // Its own read would never end while this waits for it.
                Volatile.Write(ref TrainingThread, 0);
                throw new InvalidOperationException($"{operation} was called on the model '{Names.Printable(Name)}' from inside a read of it on the same thread.");
            }

            // Reads that began before the model was taken finish first; those that begin from now on see the holder and
            // are refused (both sides' interlocked operations are full fences, so one of the two sees the other).
            var spin = default(SpinWait);
            while (Volatile.Read(ref _readers) != 0)
            {
                spin.SpinOnce();
            }

            return true;
        }

        throw new InvalidOperationException(holder != me
            ? $"{operation} was called on the model '{Names.Printable(Name)}' while another thread trains it (Fit, TrainStep, ComputeGradients, Compile or a TrainingLoop); wait for that call to finish, or train a copy (ModelFile.Save then Load)."
            : _loop != 0
                ? $"{operation} was called on the model '{Names.Printable(Name)}' inside its TrainingLoop (BeginTrainingLoop); dispose the loop first."
                : $"{operation} was called on the model '{Names.Printable(Name)}' from inside its own training (a callback of Fit); call it after Fit returns.");
    }

    /// <summary>
    /// The loss above which a training step checks every gradient before its update: 1e10. A finite loss alone did
    /// not prove the gradients finite (losses are summed in double: one read 5e67 while the float32 gradients had
    /// overflowed, and the update wrote -Infinity into the weights), but reading the whole gradient every step would
    /// cost a pass over the arena (a tenth of a step at 784-1024-10), so only a loss that large, which diverging
    /// runs reach long before a gradient overflows, pays for it.
    /// </summary>
    public const double GradientCheckLoss = 1e10;

    // Whether the step whose loss is `loss` may update: a finite loss and, past GradientCheckLoss, gradients whose squares
    // are finite. MaxMagnitude keeps the sign of the element it returns (-Infinity passed a bare comparison), and a NaN
    // fails the comparison.
    private bool UpdatesOn(double loss) =>
        double.IsFinite(loss) && (Math.Abs(loss) <= GradientCheckLoss || _gradients.IsEmpty || Math.Abs(TensorPrimitives.MaxMagnitude(_gradients.Span)) <= MaxGradient);

    /// <summary>The largest gradient magnitude the optimizer's update stays finite with (<see cref="Optimizers.Optimizer.MaxCheckedGradient"/>).</summary>
    internal float MaxGradient => (Optimizer as Optimizers.Optimizer)?.MaxGradient ?? float.MaxValue;

    /// <summary>Releases what <see cref="EnterTraining"/> took.</summary>
    internal void ExitTraining()
    {
        LeaveCallbacks();
        Volatile.Write(ref TrainingThread, 0);
    }

    /// <summary>
    /// True while <c>Fit</c>'s thread runs the callbacks: no step is in progress then, so a thread a callback starts
    /// (and waits for) may read the weights, which are row-major unless the first layer is in panel order (only the
    /// library's own callbacks, which read no weights, run while it is).
    /// </summary>
    internal volatile bool InCallback;

    /// <summary>
    /// Starts a read of the weights for <paramref name="operation"/>, refused while another thread trains the model:
    /// during <c>Fit</c> the first layer's weights are kept in the order its products read them, not row-major, and
    /// every step rewrites them, so what such a read got was not a model at all (a prediction from another thread
    /// during <c>Fit</c> was off by up to 1.7). The training thread itself (a callback) reads them row-major, and so may
    /// another thread while <c>Fit</c>'s thread runs the callbacks (<see cref="InCallback"/>). Every read from a thread
    /// that does not train the model is counted until the returned scope ends: a training that begins meanwhile waits for
    /// it (<see cref="EnterTraining"/>), and so does <c>Fit</c>'s next step after the callbacks (<see cref="LeaveCallbacks"/>).
    /// </summary>
    /// <exception cref="InvalidOperationException">Another thread trains the model.</exception>
    internal ReadScope EnterRead(string operation)
    {
        if (ReferenceEquals(t_reading, this))
        {
            // A read within a read on this thread (Evaluate's batches through Infer): admitted with the outer one. Checked
            // again, a window closing meanwhile failed an admitted read halfway.
            return new ReadScope(this, counted: false, t_reading);
        }

        bool counted = false;
        int holder = Volatile.Read(ref TrainingThread);
        if (holder != 0 && holder != Environment.CurrentManagedThreadId)
        {
            EndAbandonedLoop();
        }

        if (Volatile.Read(ref TrainingThread) != Environment.CurrentManagedThreadId)
        {
            // Counted first, checked after: a training takes the model first and reads the count after (EnterTraining),
            // and LeaveCallbacks clears the flag first and reads the count after, so one of the two sees the other.
            Interlocked.Increment(ref _readers);
            if (Volatile.Read(ref TrainingThread) != 0 && !(InCallback && _panelOrdered is null))
            {
                Interlocked.Decrement(ref _readers);
                throw Refused(operation);
            }

            counted = true;
        }
        else
        {
            // A callback that said it reads nothing between steps (Callback.ReadsModelBetweenSteps): what it would read
            // is in the products' order, not the model. In a TrainingLoop the weights go back to row-major instead.
            RequireRowMajor(operation);
        }

        Sequential? outer = t_reading;
        t_reading = this;
        return new ReadScope(this, counted, outer);
    }

    /// <summary>
    /// Before <paramref name="operation"/> reads or writes the weights on the thread that trains the model, while the
    /// first layer's are in the products' order: in a <see cref="TrainingLoop"/> puts them back row-major; from a
    /// callback of Fit between two steps (every callback's <c>ReadsModelBetweenSteps</c> is false) throws, as the call
    /// would read or write the weights in that order, not the model's.
    /// </summary>
    internal void RequireRowMajor(string operation) => RequireRowMajor(operation, null);

    // A layer's gradients for the model's own steps: a library layer's without the check of its public view, which in a
    // TrainingLoop would put the first layer back row-major in the middle of a step.
    private static Span<float> GradientsOf(ILayer layer) => layer is Layer own ? own.GradientStorage.Span : layer.Gradients.Span;

    /// <inheritdoc/>
    void IArenaOwner.BeforeView(object component, string view)
    {
        // Only the first layer is ever reordered, with the optimizer's state for it; its bias stays where it is.
        if (component is Layer layer && (_layers.Count == 0 || !ReferenceEquals(_layers[0], layer)))
        {
            return;
        }

        RequireRowMajor(view, component);
    }

    // As RequireRowMajor(operation), where `operation` reads a view of `component` (a layer or the optimizer); the
    // message is composed only when thrown, so that a read allocates nothing.
    private void RequireRowMajor(string operation, object? component)
    {
        int holder = Volatile.Read(ref TrainingThread);
        if (holder != Environment.CurrentManagedThreadId)
        {
            if (holder != 0)
            {
                // A view read from another thread: a loop whose thread ended puts the weights back row-major first.
                EndAbandonedLoop();
            }

            return;
        }

        if (_loop != 0)
        {
            // Also when already row-major: the read restarts the count of steps with none, so that a loop reading
            // after every step stays row-major instead of reordering twice every few steps.
            RowMajorForLoop();
        }
        else if (_panelOrdered is not null && InCallback)
        {
            string what = component switch
            {
                Layer layer => $"{layer.GetType().Name}.{operation} of layer '{Names.Printable(layer.Name)}'",
                null => operation,
                _ => $"{component.GetType().Name}.{operation}",
            };
            throw new InvalidOperationException(
                $"{what} was used on the model '{Names.Printable(Name)}' from a callback of Fit between two steps, while Fit keeps the first layer's weights in its products' order because every callback's ReadsModelBetweenSteps is false: return true from ReadsModelBetweenSteps (LambdaCallback: readsModel: true) in a callback that reads or changes the model between steps.");
        }
    }

    private InvalidOperationException Refused(string operation) => new(
        $"{operation} was called on the model '{Names.Printable(Name)}' while another thread trains it, whose weights are then in neither their saved layout nor a finished state; wait for the training to finish, or predict with a Predictor created before it (CreatePredictor), which keeps its own copy.");

    /// <summary>
    /// Ends the callbacks' window on the training thread: no new read is admitted, and those admitted during it have
    /// finished when this returns (a training step may follow).
    /// </summary>
    internal void LeaveCallbacks()
    {
        InCallback = false;
        Interlocked.MemoryBarrier();
        var spin = default(SpinWait);
        while (Volatile.Read(ref _readers) != 0)
        {
            spin.SpinOnce();
        }
    }

    // The reads in progress from threads that do not train the model (EnterRead).
    private int _readers;

    /// <summary>
    /// Starts a public training call (<see cref="TrainStep(ReadOnlySpan{float}, LossTargets, int)"/>,
    /// <see cref="ComputeGradients(ReadOnlySpan{float}, LossTargets, int)"/>): the model is taken unless this thread holds
    /// it already (Fit's own steps, a callback's call), and a callback's call closes the callbacks' window while its step
    /// runs, so that no read from another thread is admitted meanwhile.
    /// </summary>
    internal TrainingCall BeginCall(string operation)
    {
        bool taken = EnterTraining(operation, reentrant: true);
        bool inCallback = !taken && InCallback;
        if (inCallback)
        {
            LeaveCallbacks();
        }

        // Fit cannot run inside a loop: a call on the loop's thread is the loop's own.
        return new TrainingCall(this, taken, inCallback, inLoop: !taken && !inCallback && _loop != 0);
    }

    /// <summary>What <see cref="BeginCall"/> took, given back by <see cref="End"/>.</summary>
    internal readonly struct TrainingCall(Sequential model, bool taken, bool inCallback, bool inLoop)
    {
        /// <summary>Whether the call comes from outside <c>Fit</c>'s own steps (the caller's, a callback's, or a <see cref="TrainingLoop"/>'s).</summary>
        public bool FromOutside => taken || inCallback || inLoop;

        /// <summary>Whether the call is a step of a <see cref="TrainingLoop"/> on its thread.</summary>
        public bool InLoop => inLoop;

        public void End()
        {
            if (taken)
            {
                model.ExitTraining();
            }
            else if (inCallback)
            {
                model.InCallback = true;
            }
        }
    }

    /// <summary>The model this thread is reading (<see cref="EnterRead"/>), so that a read within it is not checked again.</summary>
    [ThreadStatic]
    private static Sequential? t_reading;

    /// <summary>
    /// A read of the weights: counted until disposed where it came from a thread that does not train the model, and
    /// marking the model as this thread's read (the outer mark restored after).
    /// </summary>
    internal readonly struct ReadScope(Sequential model, bool counted, Sequential? outer) : IDisposable
    {
        public void Dispose()
        {
            t_reading = outer;
            if (counted)
            {
                Interlocked.Decrement(ref model._readers);
            }
        }
    }

    /// <summary>The model's name.</summary>
    public string Name { get; }

    /// <summary>The seed the layers were initialized from.</summary>
    public ulong Seed { get; }

    /// <summary>
    /// Epochs trained so far by <c>Fit</c>, over all its calls (and before a save, when loaded from a file). Each
    /// epoch's shuffle is derived from the seed and this count, so a second <c>Fit</c> call draws new orders, and a
    /// model saved and loaded mid-training continues with the orders an uninterrupted run would have drawn.
    /// </summary>
    public int EpochsTrained { get; internal set; }

    /// <summary>Features per input sample.</summary>
    public int InputSize { get; }

    /// <summary>Features per output sample (classes); the input size while the model has no layers.</summary>
    public int OutputSize => _layers.Count == 0 ? InputSize : _layers[^1].OutputSize;

    /// <summary>The layers, in order.</summary>
    public IReadOnlyList<ILayer> Layers => _layers;

    /// <summary>The total number of trainable parameters.</summary>
    public int ParameterCount => _layers.Sum(l => l.ParameterCount);

    /// <summary>Floats of non-trainable weights over all layers (batch normalizations' running statistics).</summary>
    internal int NonTrainableCount => _layers.Sum(l => (l as Layer)?.NonTrainableCount ?? 0);

    /// <summary>Copies every layer's non-trainable weights, layer after layer, into <paramref name="destination"/> (<see cref="NonTrainableCount"/> floats).</summary>
    internal void CopyNonTrainable(Span<float> destination)
    {
        foreach (ILayer layer in _layers)
        {
            if (layer is Layer { NonTrainableCount: > 0 } known)
            {
                known.CopyNonTrainable(destination);
                destination = destination[known.NonTrainableCount..];
            }
        }
    }

    /// <summary>Puts back what <see cref="CopyNonTrainable"/> copied.</summary>
    internal void RestoreNonTrainable(ReadOnlySpan<float> source)
    {
        foreach (ILayer layer in _layers)
        {
            if (layer is Layer { NonTrainableCount: > 0 } known)
            {
                known.RestoreNonTrainable(source);
                source = source[known.NonTrainableCount..];
            }
        }
    }

    /// <summary>The loss given to <see cref="Compile"/>, or null.</summary>
    public ILoss? Loss { get; private set; }

    /// <summary>The optimizer given to <see cref="Compile"/>, or null.</summary>
    public IOptimizer? Optimizer { get; private set; }

    /// <summary>
    /// The metrics given to <see cref="Compile"/> (Keras's names: <c>accuracy</c>, or <c>binary_accuracy</c>,
    /// <c>categorical_accuracy</c> and <c>sparse_categorical_accuracy</c> where the model's accuracy is that kind, <c>mae</c>, <c>mse</c>,
    /// <c>rmse</c>, <c>r2</c>, and a loss's mean over the samples: <c>mape</c>, <c>msle</c>, <c>log_cosh</c>,
    /// <c>poisson</c>, <c>kl_divergence</c>, <c>cosine_similarity</c> (the similarity, from -1 to 1), <c>hinge</c>,
    /// <c>squared_hinge</c>, <c>categorical_hinge</c>; Keras's confusion metrics <c>precision</c> and <c>recall</c> at 0.5
    /// and <c>auc</c> (its <c>AUC()</c> of 200 thresholds), every output a binary decision; all on the predictions, so
    /// after the loss's softmax or sigmoid where it applies one), or null for the default: <c>mae</c> for a regression loss on real-valued targets,
    /// <c>accuracy</c> otherwise.
    /// </summary>
    public IReadOnlyList<string>? Metrics { get; private set; }

    /// <summary>Whether <see cref="Compile"/> has been called.</summary>
    public bool IsCompiled => Loss is not null;

    /// <summary>Every parameter of every layer, in layer order (the flat arena; empty before <see cref="Compile"/>).</summary>
    /// <remarks>
    /// A view, not a copy: read it on the thread that trains the model (a callback of <c>Fit</c>) or when no training
    /// runs. Another thread reading it during <c>Fit</c> sees weights mid-update and, during an epoch's steps, the first
    /// layer's in the order its products read them rather than row-major. Read on the thread of a
    /// <see cref="TrainingLoop"/>, it puts the loop's first layer back row-major first (a view taken before a step may
    /// see the products' order after it: take it again).
    /// </remarks>
    /// <exception cref="InvalidOperationException">Read by a callback of <c>Fit</c> between two steps while the first layer's weights are in the products' order (the callback's <c>ReadsModelBetweenSteps</c> is false).</exception>
    public Memory<float> Parameters
    {
        get
        {
            RequireRowMajor(nameof(Parameters));
            return _parameters;
        }
    }

    /// <summary>The gradients of the last training step, same layout as <see cref="Parameters"/>.</summary>
    /// <remarks>Read on the thread of a <see cref="TrainingLoop"/>, it puts the loop's first layer back row-major first, as <see cref="Parameters"/> does.</remarks>
    public Memory<float> Gradients
    {
        get
        {
            RequireRowMajor(nameof(Gradients));
            return _gradients;
        }
    }

    /// <summary>
    /// Appends a layer. An unbuilt layer is built for the previous layer's output size and seeded from the model's
    /// seed and its position; a built one must fit. Unnamed layers get Keras-style names (<c>dense</c>, <c>dense_1</c>, …).
    /// </summary>
    /// <param name="layer">The layer.</param>
    /// <returns>This model, to chain calls.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="layer"/> is null.</exception>
    /// <exception cref="ArgumentException">A built layer's input size differs from the previous output size, the layer is already in the model, or its parameters or per-feature state over the previous output size are more than one array holds (<see cref="ArgumentOutOfRangeException"/>).</exception>
    /// <exception cref="InvalidOperationException">The model is already compiled, or a dense layer's <see cref="Initializer.Orthogonal"/> kernel is beyond <see cref="Initializer.MaxOrthogonalWork"/> (the layer is left unbuilt).</exception>
    /// <exception cref="InsufficientMemoryException">The layer's parameters or per-feature state, or an orthogonal kernel's decomposition, exceed the memory this process may use.</exception>
    public Sequential Add(ILayer layer)
    {
        ArgumentNullException.ThrowIfNull(layer);
        if (IsCompiled)
        {
            throw new InvalidOperationException("The model is compiled; add every layer before calling Compile.");
        }

        if (_layers.Contains(layer))
        {
            throw new ArgumentException($"Layer '{Names.Printable(layer.Name)}' is already in the model.", nameof(layer));
        }

        if (layer is Layer owned && owned.Owner is not null && owned.Owner != this)
        {
            // Compile moves a layer's parameters into its model's arena: shared, one model would train weights the
            // layer no longer reads.
            throw new ArgumentException($"Layer '{Names.Printable(layer.Name)}' already belongs to another model.", nameof(layer));
        }

        int inputs = OutputSize;
        if (layer.IsBuilt && layer.InputSize != inputs)
        {
            string label = Names.Printable(layer is Layer named ? named.Label : layer.Name);
            throw new ArgumentException(_layers.Count == 0
                ? $"Layer '{label}' expects {layer.InputSize} input features but the model's input has {inputs}."
                : $"Layer '{label}' expects {layer.InputSize} input features but the previous layer outputs {inputs}.", nameof(layer));
        }

        ulong seed = Xoshiro128.Derive(Seed, (ulong)_layers.Count);
        if (layer is Layer own && !own.IsBuilt)
        {
            // Refused before the layer allocates its parameters.
            own.Build(inputs, seed, CheckTotalParameters);
        }
        else
        {
            layer.Build(inputs, seed);
            CheckTotalParameters(layer);
        }

        if (layer is Layer claimed)
        {
            claimed.Owner = this;
        }

        if (_layers.Count == 0 && layer is Dense first)
        {
            // The model's input is the data itself (an image's background is zeros): its products skip the zeros.
            first.SkipsZeroInputs = true;
        }

        if (string.IsNullOrEmpty(layer.Name))
        {
            string baseName = layer is Layer known ? known.DefaultName : layer.GetType().Name.ToLowerInvariant();
            int count = _nameCounts.GetValueOrDefault(baseName);
            _nameCounts[baseName] = count + 1;
            layer.Name = count == 0 ? baseName : string.Create(CultureInfo.InvariantCulture, $"{baseName}_{count}");
        }

        _layers.Add(layer);
        _fusedRelu = new bool[_layers.Count];
        for (int i = 0; i + 1 < _layers.Count; i++)
        {
            _fusedRelu[i] = _layers[i] is Dense { Activation: Activation.Linear } && _layers[i + 1] is Relu { IsPlain: true };
        }

        // Per sample of a step, each dense layer's forward and weight-gradient products, and its input-gradient product
        // unless it is the first layer (nothing needs the gradient of the inputs).
        _stepFmaPerSample = 0;
        foreach (ILayer each in _layers)
        {
            if (each is Dense dense)
            {
                _stepFmaPerSample += (long)dense.InputSize * dense.Units * (_stepFmaPerSample == 0 ? 2 : 3);
            }
        }

        return this;
    }

    /// <summary>
    /// Fixes the loss and optimizer, moves every parameter into the flat arena and sizes the buffers.
    /// </summary>
    /// <param name="loss">The loss, e.g. <see cref="SoftmaxCrossEntropy"/>.</param>
    /// <param name="optimizer">The optimizer, e.g. <see cref="Adam"/>; its state is reset.</param>
    /// <param name="maxBatchSize">The largest batch expected, to size buffers now (they grow later if needed); non-negative.</param>
    /// <param name="keepOptimizerState">Keep the optimizer's state when it is the one already compiled (to resume training).</param>
    /// <param name="metrics">The metrics Fit and Evaluate report (see <see cref="Metrics"/>); null for the default.</param>
    /// <exception cref="ArgumentNullException">The loss or optimizer is null.</exception>
    /// <exception cref="InvalidOperationException">
    /// The model has no layers; or another thread is training it, or this call comes from a callback of its <c>Fit</c>.
    /// </exception>
    /// <exception cref="ArgumentException">
    /// The loss does not suit the model's last layer (a softmax or sigmoid layer before a loss that applies it
    /// again, probabilities expected from a model that does not output them, one output for a categorical loss), the
    /// loss has no reduction to train on, a metric is unknown or is a Keras accuracy of the other kind than the model's
    /// (<c>binary_accuracy</c> for a categorical model, say), or the optimizer is compiled into another model (its
    /// state is one model's). The message says what to change.
    /// </exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="maxBatchSize"/> needs a buffer larger than a .NET array.</exception>
    /// <exception cref="InsufficientMemoryException"><paramref name="maxBatchSize"/> needs more buffer memory than the process may use.</exception>
    public void Compile(ILoss loss, IOptimizer optimizer, int maxBatchSize = 0, bool keepOptimizerState = false,
        IReadOnlyList<string>? metrics = null)
    {
        ArgumentNullException.ThrowIfNull(loss);
        ArgumentNullException.ThrowIfNull(optimizer);
        Check.NonNegative(maxBatchSize, nameof(maxBatchSize), "largest batch size");
        if (_layers.Count == 0)
        {
            throw new InvalidOperationException("The model has no layers: add at least one before Compile.");
        }

        EnterTraining(nameof(Compile), reentrant: false);
        try
        {
            CompileHeld(loss, optimizer, maxBatchSize, keepOptimizerState, metrics);
        }
        finally
        {
            ExitTraining();
        }
    }

    /// <summary><see cref="Compile"/> by a caller that holds the model already (<c>Fit</c>, sizing its buffers).</summary>
    internal void CompileHeld(ILoss loss, IOptimizer optimizer, int maxBatchSize, bool keepOptimizerState, IReadOnlyList<string>? metrics)
    {
        if (optimizer is Optimizer claimed && claimed.Owner is not null && claimed.Owner != this)
        {
            // An optimizer's moments and step count are those of one arena: shared, two models' steps updated one
            // state without a word (and models of other sizes failed at their first step with "call Initialize first").
            throw new ArgumentException(
                $"The optimizer {optimizer.Name} is already compiled into another model: give each model its own {optimizer.GetType().Name}, or compile that model with another optimizer first.",
                nameof(optimizer));
        }

        CheckLoss(loss);
        if (metrics is not null)
        {
            metrics = [.. metrics];
            MetricSet.Validate(metrics, nameof(metrics));
            MetricSet.CheckAccuracyKind(metrics, loss, OutputSize, nameof(metrics));
        }

        Metrics = metrics;

        if (!IsCompiled)
        {
            int count = ParameterCount;
            // The arena and its gradients, while the layers' own copies still exist, then the optimizer's state.
            int slots = optimizer is Optimizer stateful ? stateful.StateSlotCount : 0;
            Check.FitsInMemory(4m * count * (4 + slots), string.Create(CultureInfo.InvariantCulture,
                $"Compiling {count:N0} parameters for {optimizer.GetType().Name} ({slots} state value(s) per parameter)"), "use fewer or narrower layers");
            // 64-byte aligned: one sample of 784-128-10 on two threads, each streaming half of every row of the
            // 784 x 128 weights, took 1.9-2.0 µs from aligned rows and 2.7-2.8 µs from rows 16, 32 or 48 bytes off
            // (GemmRows.Multiply alone, alternating in one process; AMD EPYC Zen 5, 2 real cores); one thread was
            // within 10% either way.
            (float[] parameters, int parametersStart) = GemmBuffers.AllocateAlignedZeroed(count, "The parameter arena");
            (float[] gradients, int gradientsStart) = GemmBuffers.AllocateAlignedZeroed(count, "The gradient arena");
            _parameters = parameters.AsMemory(parametersStart, count);
            _gradients = gradients.AsMemory(gradientsStart, count);
            int offset = 0;
            foreach (ILayer layer in _layers)
            {
                int n = layer.ParameterCount;
                layer.BindParameters(_parameters.Slice(offset, n), _gradients.Slice(offset, n));
                offset += n;
            }
        }

        bool keep = keepOptimizerState && ReferenceEquals(optimizer, Optimizer);
        Loss = loss;
        if (Optimizer is Optimizer previous && !ReferenceEquals(previous, optimizer))
        {
            previous.Owner = null;
        }

        Optimizer = optimizer;
        if (optimizer is Optimizer owned)
        {
            owned.Owner = this;
        }
        var owners = new List<int>();
        List<ParameterSegment> segments = ParameterSegments(owners);
        _segmentLayers = [.. owners];
        _frozenSegments = new bool[owners.Count];
        if (!keep)
        {
            if (optimizer is Optimizer withSegments)
            {
                withSegments.Initialize(_parameters.Length, segments);
            }
            else
            {
                optimizer.Initialize(_parameters.Length);
            }
        }

        EnsureCapacity(maxBatchSize);
    }

    // Compile keeps every parameter in one array (the arena the optimizer walks), so their total must fit in one.
    private void CheckTotalParameters(ILayer layer)
    {
        long total = _layers.Sum(l => (long)l.ParameterCount) + layer.ParameterCount;
        if (total > Array.MaxLength)
        {
            string name = string.IsNullOrEmpty(layer.Name) ? layer.GetType().Name : Names.Printable(layer.Name);
            throw new ArgumentException(string.Create(CultureInfo.InvariantCulture,
                $"With layer '{name}' ({layer.ParameterCount:N0} parameters) the model would have {total:N0} parameters, more than one array holds ({Array.MaxLength:N0}): use fewer or narrower layers."), nameof(layer));
        }
    }

    // A loss reads logits, probabilities or any values; the last layer says which the model outputs.
    private void CheckLoss(ILoss loss)
    {
        if (loss.Reduction == Reduction.None)
        {
            throw new ArgumentException(
                $"The loss {loss.Name} has reduction None, which gives one loss per sample and nothing to minimize: train with Reduction.Mean (Keras's default) or Reduction.Sum, and use PerSample for per-sample values.", nameof(loss));
        }

        ILayer last = _layers[^1];
        // Noise layers are the identity at inference, so the layer before them says what the model outputs: a Softmax
        // followed by a Dropout, trained with SoftmaxCrossEntropy, applied softmax twice and was let through. Dropout and
        // GaussianDropout scale each value by a factor of 0 or more, and so keep probabilities probabilities (within the
        // losses' clip); any noise layer keeps a softmax's output from being logits.
        ILayer squasher = _layers.LastOrDefault(l => l is not NoiseLayer) ?? last;
        ILayer shown = _layers.LastOrDefault(l => l is not (Dropout or GaussianDropout)) ?? last;
        // What each layer outputs is its own to say (Layer.OutputRange): a layer of one's own that outputs probabilities
        // is accepted as the built-in ones are; HardSigmoid, left out of a list kept here, was refused before a
        // BinaryCrossentropy as "raw values" and before Poisson as "can output negative values".
        OutputRange range = RangeOf(shown), rangeOnce = RangeOf(squasher);
        bool probabilities = rangeOnce is OutputRange.UnitInterval or OutputRange.Distribution;
        string lastName = LayerDescription(shown, last);
        string type = loss.GetType().Name;
        if (loss.Task == LossTask.MultiClass && OutputSize < 2)
        {
            throw new ArgumentException(
                $"{type} scores one class out of several, but the model has {OutputSize} output: give the last layer one unit per class, or for a yes/no problem use BinaryCrossentropy with one output.", nameof(loss));
        }

        if (loss.Input == LossInput.Logits && probabilities && loss is not CrossentropyLoss)
        {
            // The hinge losses: a margin of 1 on a probability cannot be met.
            throw new ArgumentException(
                $"{type} scores raw values against a margin of 1, but the model's {LayerDescription(squasher, last)} squashes them into probabilities, which cannot reach it. Remove the {Squasher(squasher)}: the scores' sign (or argmax) is the class.", nameof(loss));
        }

        if (loss.Input == LossInput.Logits && probabilities)
        {
            // The loss's own function, not the layer's: a Softmax before a binary cross-entropy from logits has a
            // sigmoid applied after it.
            string applies = loss.Task == LossTask.MultiClass ? "softmax" : "sigmoid";
            throw new ArgumentException(
                $"The model's {LayerDescription(squasher, last)} already outputs probabilities, and {type} with fromLogits: true applies {applies} to them (training would be slower and reach a worse model). Remove the {Squasher(squasher)} and keep the loss, or keep it and use {(type == nameof(SoftmaxCrossEntropy) ? "CategoricalCrossentropy" : type)}(fromLogits: false).", nameof(loss));
        }

        if (loss is Loss known && known.OutputProblem(OutputSize) is { } problem)
        {
            throw new ArgumentException($"{type} does not suit this model: {problem}.", nameof(loss));
        }

        if (loss is Loss { NeedsNonNegativeOutputs: true } && range == OutputRange.Any)
        {
            throw new ArgumentException(
                $"{type} reads the outputs as rates under a logarithm, undefined below 0, but the model's {lastName} can output negative values (training would turn to NaN). End the model with a Softplus layer (or Relu, Sigmoid, or a Dense with activation Relu).", nameof(loss));
        }

        if (loss.Input == LossInput.Probabilities)
        {
            bool fits = loss.Task == LossTask.MultiClass ? range == OutputRange.Distribution : range is OutputRange.UnitInterval or OutputRange.Distribution;
            if (!fits)
            {
                string wanted = loss.Task == LossTask.MultiClass ? "a Softmax layer (or Dense with Activation.Softmax)" : "a Sigmoid layer (or Dense with Activation.Sigmoid)";
                string outputs = range is OutputRange.UnitInterval ? "outputs probabilities in [0, 1], each on its own, not one distribution over the classes"
                    : range is OutputRange.NonNegative ? "outputs values of 0 or more, not probabilities" : "outputs raw values";
                string what = loss is CrossentropyLoss ? $"{type} with fromLogits: false expects probabilities" : $"{type} compares probability distributions";
                string alternative = loss is CrossentropyLoss ? $", or use {type}(fromLogits: true) on these outputs" : "";
                throw new ArgumentException(
                    $"{what}, but the model's {lastName} {outputs}. End the model with {wanted}{alternative}.", nameof(loss));
            }
        }
    }

    // A layer's own OutputRange; a layer implementing ILayer alone says nothing, so it may output anything.
    private static OutputRange RangeOf(ILayer layer) => layer is Layer known ? known.OutputRange : OutputRange.Any;

    // What the advice tells the user to remove: the layer, or the Dense layer's activation.
    private static string Squasher(ILayer layer) =>
        layer is Dense dense ? $"Dense layer's activation {dense.Activation}" : layer.TypeId;

    // "last layer 'name' (type with activation A)", or where noise layers follow it, "layer ... before the noise layer ...,".
    private static string LayerDescription(ILayer layer, ILayer last)
    {
        string described = $"'{Names.Printable(layer.Name)}' ({layer.TypeId}{(layer is Dense d && d.Activation != Activation.Linear ? $" with activation {d.Activation}" : "")})";
        return ReferenceEquals(layer, last) ? "last layer " + described : $"layer {described}, before the noise layer '{Names.Printable(last.Name)}' ({last.TypeId}),";
    }

    // The arena's variables: every layer's segments, shifted to the layer's place in the arena; owners gets the index
    // of each one's layer.
    private List<ParameterSegment> ParameterSegments(List<int> owners)
    {
        var segments = new List<ParameterSegment>();
        int offset = 0;
        for (int i = 0; i < _layers.Count; i++)
        {
            ILayer layer = _layers[i];
            IReadOnlyList<ParameterSegment> own = layer is Layer known
                ? known.ParameterSegments
                : layer.ParameterCount == 0 ? [] : [new ParameterSegment($"{layer.Name}/weights", 0, layer.ParameterCount, ParameterRole.Weight)];
            foreach (ParameterSegment segment in own)
            {
                segments.Add(segment with { Offset = offset + segment.Offset });
                owners.Add(i);
            }

            offset += layer.ParameterCount;
        }

        return segments;
    }

    /// <summary>
    /// One training step on a batch: forward in training mode, loss, backward, optimizer update. Allocates nothing
    /// once the buffers fit the batch.
    /// </summary>
    /// <param name="inputs">The <c>[batch, InputSize]</c> samples.</param>
    /// <param name="labels">The <c>[batch]</c> class labels, each in <c>[0, OutputSize)</c>.</param>
    /// <param name="batch">The number of samples; positive.</param>
    /// <returns>The batch's loss and correct count, measured before the update.</returns>
    /// <exception cref="InvalidOperationException">The model is not compiled, another thread is training it, or a layer is not <see cref="Layer.Trainable"/> and the optimizer does not derive from <see cref="Optimizer"/>.</exception>
    /// <exception cref="ArgumentException">A span does not fit the model's shapes, or a label is out of range.</exception>
    /// <remarks>
    /// When the loss is NaN or infinite, or, past <see cref="GradientCheckLoss"/>, a gradient is not finite or the update
    /// makes a parameter or the optimizer's state so (<see cref="TrainStepResult.UpdateOverflowed"/>), the update is
    /// skipped or undone (<see cref="TrainStepResult.Skipped"/>), so the parameters (and batch normalizations' running
    /// statistics) stay those from before the step and the model remains usable (training loops stop on it, as Keras's
    /// TerminateOnNaN does). The first such checked update copies the parameters and the optimizer's state aside, once
    /// per model (a diverging run's only allocation).
    /// </remarks>
    public TrainStepResult TrainStep(ReadOnlySpan<float> inputs, ReadOnlySpan<int> labels, int batch) =>
        TrainStep(inputs, LossTargets.FromLabels(labels), batch);

    /// <summary>
    /// One training step on a batch with labels or real-valued targets, optionally weighted per sample: forward in
    /// training mode, loss, backward, optimizer update. Allocates nothing once the buffers fit the batch.
    /// </summary>
    /// <param name="inputs">The <c>[batch, InputSize]</c> samples.</param>
    /// <param name="targets">The batch's labels or <c>[batch, OutputSize]</c> values, and optional <c>[batch]</c> weights.</param>
    /// <param name="batch">The number of samples; positive.</param>
    /// <returns>The batch's loss and accuracy counts, measured before the update.</returns>
    /// <exception cref="InvalidOperationException">The model is not compiled, another thread is training it, or a layer is not <see cref="Layer.Trainable"/> and the optimizer does not derive from <see cref="Optimizer"/>.</exception>
    /// <exception cref="ArgumentException">A span does not fit the model's shapes, a label is out of range, or a target value or weight does not suit the loss.</exception>
    /// <remarks>
    /// As the label overload: a NaN or infinite loss, or, past <see cref="GradientCheckLoss"/>, a gradient or an update
    /// that is not finite, skips the update. Below that loss the gradients and the update are not read (a step allocates
    /// and scans nothing extra), so an update that overflows from a moderate loss (an SGD rate of 10^19 on inputs of
    /// 10^20) writes infinities; the next step's loss is then not finite and stops training.
    /// </remarks>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public TrainStepResult TrainStep(ReadOnlySpan<float> inputs, LossTargets targets, int batch)
    {
        TrainingCall call = BeginCall(nameof(TrainStep));
        try
        {
            if (call.InLoop)
            {
                StepInLoop();
            }

            return TrainStepHeld(inputs, targets, batch, call.FromOutside);
        }
        finally
        {
            call.End();
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private TrainStepResult TrainStepHeld(ReadOnlySpan<float> inputs, LossTargets targets, int batch, bool checkTargets)
    {
        SetFrozenVariables();
        using Parallelism.ThreadLimit limit = Parallelism.LimitTo(StepThreads(batch));

        // The regularizers' gradient terms are added by the update's own threads, each to the ranges it updates, rather
        // than in a serial pass before it (bitwise the same: each term is element by element).
        bool piecewise = HasRegularizers && Optimizer is IElementwiseOptimizer { TakesGradientsInPieces: true };
        TrainStepResult result = ComputeGradientsHeld(inputs, targets, batch, checkTargets, deferRegularizerGradients: piecewise);
        if (piecewise && !(double.IsFinite(result.Loss) && Math.Abs(result.Loss) <= GradientCheckLoss))
        {
            // UpdatesOn then reads the gradients, and a skipped step leaves them as ComputeGradients would.
            AddRegularizerGradients();
            piecewise = false;
        }

        if (!UpdatesOn(result.Loss))
        {
            EndTrainingStep(applied: false);
            return result with { Skipped = true };
        }

        // Past GradientCheckLoss the update itself is checked: finite gradients can still overflow it.
        Optimizer? checkedOptimizer = Math.Abs(result.Loss) > GradientCheckLoss && Optimizer is Optimizer library && KeepBeforeUpdate(library)
            ? library
            : null;
        if (Optimizer is IElementwiseOptimizer elementwise)
        {
            (_optimizerStep ??= new OptimizerStep(_layers)).Run(elementwise, _parameters, _gradients, batch, piecewise);
        }
        else
        {
            Optimizer!.Update(_parameters.Span, _gradients.Span);
        }

        ApplyConstraints();
        if (checkedOptimizer is not null && !UpdateFinite(checkedOptimizer))
        {
            RestoreBeforeUpdate(checkedOptimizer);
            EndTrainingStep(applied: false);
            return result with { Skipped = true, UpdateOverflowed = true };
        }

        EndTrainingStep(applied: true);
        return result;
    }

    // The parameters and the optimizer's state as they were before an update checked for overflow (TrainStepHeld), and
    // the optimizer's step count; allocated at the first such update, which only a diverging run reaches.
    private float[]? _beforeUpdate;
    private long _iterationsBeforeUpdate;

    /// <summary>
    /// Copies the parameters and <paramref name="optimizer"/>'s state aside before an update past
    /// <see cref="GradientCheckLoss"/>, so that one that overflows can be undone: an SGD step of 10^6 times a finite
    /// gradient of 10^36 wrote -Infinity into the weights of a run whose loss (10^72, summed in double) and gradients
    /// were finite, and the next step stopped the run holding them. False where the copy cannot be made (no memory
    /// for it); the update then goes unchecked, as before.
    /// </summary>
    private bool KeepBeforeUpdate(Optimizer optimizer)
    {
        Span<float> state = optimizer.StateStorage.Span;
        long length = (long)_parameters.Length + state.Length;
        if (_beforeUpdate is null || _beforeUpdate.Length < length)
        {
            try
            {
                _beforeUpdate = length > Array.MaxLength ? null : GC.AllocateUninitializedArray<float>((int)length);
            }
            catch (OutOfMemoryException)
            {
                _beforeUpdate = null;
            }

            if (_beforeUpdate is null)
            {
                return false;
            }
        }

        _parameters.Span.CopyTo(_beforeUpdate);
        state.CopyTo(_beforeUpdate.AsSpan(_parameters.Length));
        _iterationsBeforeUpdate = optimizer.Iterations;
        return true;
    }

    // Whether the parameters and the optimizer's state are all finite after a checked update.
    private bool UpdateFinite(Optimizer optimizer) =>
        ParametersFinite && Elementwise.IndexOfNonFinite(optimizer.StateStorage.Span) < 0;

    private void RestoreBeforeUpdate(Optimizer optimizer)
    {
        Span<float> state = optimizer.StateStorage.Span;
        _beforeUpdate.AsSpan(0, _parameters.Length).CopyTo(_parameters.Span);
        _beforeUpdate.AsSpan(_parameters.Length, state.Length).CopyTo(state);
        optimizer.SetIterations(_iterationsBeforeUpdate);
    }

    /// <summary>Whether every parameter is finite (in whatever order the model holds them now).</summary>
    internal bool ParametersFinite => IsCompiled
        ? Elementwise.IndexOfNonFinite(_parameters.Span) < 0
        : _layers.TrueForAll(layer => layer is not Layer own || Elementwise.IndexOfNonFinite(own.ParameterStorage.Span) < 0);

    // Layer.Trainable, read before every step: the optimizer skips the variables of the layers that are not trainable.
    private void SetFrozenVariables()
    {
        bool any = false;
        for (int s = 0; s < _segmentLayers.Length; s++)
        {
            bool frozen = _layers[_segmentLayers[s]] is Layer { Trainable: false };
            _frozenSegments[s] = frozen;
            any |= frozen;
        }

        if (Optimizer is Optimizer owned && owned.Segments.Count == _frozenSegments.Length)
        {
            owned.SetFrozen(_frozenSegments);
        }
        else if (any)
        {
            throw new InvalidOperationException(string.Create(CultureInfo.InvariantCulture,
                $"Layer '{Names.Printable(_layers[_segmentLayers[Array.IndexOf(_frozenSegments, true)]].Name)}' is not trainable, which only an optimizer derived from Optimizer can honour ({Optimizer?.GetType().Name} updates every parameter it is given): use one of the library's optimizers, or set Trainable back to true."));
        }
    }

    /// <summary>
    /// Applies every trainable dense layer's <see cref="Dense.KernelConstraint"/> and <see cref="Dense.BiasConstraint"/> to
    /// its parameters, as Keras's optimizer does after each update (a layer that is not <see cref="Layer.Trainable"/> is
    /// left as it is). <c>TrainStep</c> and <c>Fit</c> call it after every update
    /// they apply; call it yourself after an optimizer's <see cref="IOptimizer.Update"/> in a loop of your own built on
    /// <c>ComputeGradients</c>.
    /// </summary>
    public void ApplyConstraints()
    {
        for (int i = 0; i < _layers.Count; i++)
        {
            if (_layers[i] is Dense { IsConstrained: true, Trainable: true } dense)
            {
                // The first layer's weights may be in panel order (Fit): the constraint follows its layout.
                dense.ApplyConstraints();
            }
        }
    }

    // Layers that keep state besides their parameters (batch normalization's running statistics) change it only with an
    // applied update (or a ComputeGradients whose loss is finite): a skipped step leaves the whole model as it was.
    private void EndTrainingStep(bool applied)
    {
        for (int i = 0; i < _layers.Count; i++)
        {
            (_layers[i] as Layer)?.EndTrainingStep(applied);
        }
    }

    /// <summary>
    /// Forward in training mode, loss and backward on a batch, leaving <c>∂loss/∂parameters</c> in
    /// <see cref="Gradients"/> without updating the parameters (what <see cref="TrainStep(ReadOnlySpan{float}, LossTargets, int)"/> does before its update).
    /// As Keras's training-mode call, it moves a batch normalization's running statistics, unless the loss is NaN or
    /// infinite (then nothing changes), so that a loop of your own that applies the optimizer after it trains them.
    /// </summary>
    /// <param name="inputs">The <c>[batch, InputSize]</c> samples.</param>
    /// <param name="labels">The <c>[batch]</c> class labels, each in <c>[0, OutputSize)</c>.</param>
    /// <param name="batch">The number of samples; positive.</param>
    /// <returns>The batch's loss and correct count.</returns>
    /// <exception cref="InvalidOperationException">The model is not compiled, or another thread is training it.</exception>
    /// <exception cref="ArgumentException">A span does not fit the model's shapes, or a label is out of range.</exception>
    public TrainStepResult ComputeGradients(ReadOnlySpan<float> inputs, ReadOnlySpan<int> labels, int batch) =>
        ComputeGradients(inputs, LossTargets.FromLabels(labels), batch);

    /// <summary>
    /// As <see cref="ComputeGradients(ReadOnlySpan{float}, ReadOnlySpan{int}, int)"/> with labels or real-valued
    /// targets, optionally weighted per sample.
    /// </summary>
    /// <param name="inputs">The <c>[batch, InputSize]</c> samples.</param>
    /// <param name="targets">The batch's labels or <c>[batch, OutputSize]</c> values, and optional <c>[batch]</c> weights.</param>
    /// <param name="batch">The number of samples; positive.</param>
    /// <returns>The batch's loss and accuracy counts.</returns>
    /// <exception cref="InvalidOperationException">The model is not compiled, or another thread is training it.</exception>
    /// <exception cref="ArgumentException">A span does not fit the model's shapes, a label is out of range, or a target value or weight does not suit the loss.</exception>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public TrainStepResult ComputeGradients(ReadOnlySpan<float> inputs, LossTargets targets, int batch)
    {
        TrainingCall call = BeginCall(nameof(ComputeGradients));
        try
        {
            if (call.InLoop)
            {
                // Its gradients are the caller's to read, row-major.
                RowMajorForLoop();
            }

            TrainStepResult result = ComputeGradientsHeld(inputs, targets, batch, call.FromOutside);
            EndTrainingStep(applied: double.IsFinite(result.Loss));
            return result;
        }
        finally
        {
            call.End();
        }
    }

    // The rows' loss terms and correct counts of the output layer (ComputeGradientsHeld), kept for the next step.
    private StepOutputRows? _outputRows;
    private bool _outputRowsCounted;

    /// <summary>Whether the last step's loss was computed on the output layer's rows by their threads (<see cref="StepOutputRows"/>; tests).</summary>
    internal bool LastLossByRows { get; private set; }

    /// <summary>Whether the last step computed the output layer's rows in the reduction phase of the layer below (tests).</summary>
    internal bool LastOutputRowsInReduction { get; private set; }

    // The output layer when a step on `threads` threads computes the loss on its rows (ForwardOutputRows): it takes the
    // 16-column path, and either the hidden layer below divides its k blocks among the threads (the rows then computed
    // in that product's reduction phase: Dense.ForwardFusedThenRows) or the output product divides its rows itself (in
    // a region of its own); not inside the first layer's region, as where the threads own the first layer's columns
    // (Dense.TryForwardFusedThenNarrow); the targets are labels, and the loss is one of the library's, whose rows are
    // safe to compute on several threads at once (a loss of one's own may keep state in Row). Otherwise null, and the
    // step computes the loss after the product.
    private (Dense Last, NeuralCore.Losses.Loss Loss)? LossByRows(int threads, LossTargets targets, int batch)
    {
        if (threads < 2 || !targets.HasLabels || Loss is not NeuralCore.Losses.Loss loss || loss.GetType().Assembly != typeof(Sequential).Assembly
            || _layers[^1] is not Dense { Activation: Activation.Linear, UseBias: true, PanelOrder.IsValid: false } last
            || !GemmNarrow.Applies(KernelIsaSupport.Best, batch, last.Units))
        {
            return null;
        }

        // Rows the output product divides itself, or that the reduction phase of the layer below divides (where the
        // output product alone is too small to divide: 784-128-10 at batch 32, whose loss was then serial).
        bool belowDivides = _layers.Count >= 3 && _fusedRelu[^3] && _layers[^3] is Dense hidden
            && hidden.ForwardDividesReductionRows(batch);
        if (!belowDivides && GemmNarrow.Threads(batch, last.Units, last.InputSize) < 2)
        {
            return null;
        }

        bool inFirstRegion = _layers.Count >= 3 && _layers[^3] is Dense { PanelOrder.IsValid: true } below
            && below.PanelOrder.OwnedColumnSlices(batch) > 0;
        return inFirstRegion ? null : (last, loss);
    }

    // The output layer's forward, with each thread's share of the rows' loss and accuracy count computed on that thread
    // as soon as its rows are stored (StepOutputRows); where the product does not take the narrow path, nothing of
    // them is, and the caller computes them as before. With `below` (the dense layer under it, ReLU fused), that
    // layer's forward first, the output layer's rows going on in its reduction phase where its threads divide one
    // (Dense.ForwardFusedThenRows); false where they did not, the output layer then left to the caller.
    private unsafe bool ForwardOutputRows(Dense? below, Dense last, NeuralCore.Losses.Loss loss, ReadOnlySpan<float> x, Span<float> activated,
        Span<float> logits, Span<float> grad, LossTargets targets, int batch)
    {
        StepOutputRows rows = _outputRows ??= new StepOutputRows();
        _outputRowsCounted = Scoring.Metrics.AccuracyFor(Loss!, OutputSize) == AccuracyKind.Categorical;
        fixed (float* pOutput = logits, pGrad = grad, pWeights = targets.SampleWeights)
        fixed (int* pLabels = targets.Labels)
        {
            rows.Begin(loss, pOutput, pGrad, pLabels, targets.SampleWeights.IsEmpty ? null : pWeights, batch, OutputSize, _outputRowsCounted);
            try
            {
                if (below is not null)
                {
                    return below.ForwardFusedThenRows(x, activated, last, logits, batch, rows);
                }

                last.ForwardFused(x, logits, batch, relu: false, rows);
                return true;
            }
            finally
            {
                rows.End();
            }
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    // checkTargets: false for Fit's own steps, whose data Fit checked whole before the first; a call from outside (or from
    // a callback) has its target values checked as Fit checks them (a binary target of 2 trained without a word).
    // deferRegularizerGradients: the penalties join the loss, and their gradient terms are left to the update
    // (OptimizerStep adds each range's on the thread that updates it) or to AddRegularizerGradients.
    private TrainStepResult ComputeGradientsHeld(ReadOnlySpan<float> inputs, LossTargets targets, int batch, bool checkTargets,
        bool deferRegularizerGradients = false)
    {
        if (Loss is null || Optimizer is null)
        {
            throw new InvalidOperationException("The model is not compiled: call Compile(loss, optimizer) before training.");
        }

        CheckBatch(inputs, targets, batch);
        if (checkTargets && !targets.HasLabels)
        {
            // Labels and weights the loss's own check covers on every step; the values' range is the loss's to say.
            Loss.CheckTargets(targets, batch, OutputSize, "targets");
        }

        EnsureCapacity(batch);
        int threads = StepThreads(batch);
        using Parallelism.ThreadLimit limit = Parallelism.LimitTo(threads);
        int outputs = OutputSize;
        Span<float> grad = _gradA.AsSpan(0, batch * outputs);

        // On several threads, the loss (and the accuracy count) of the rows each thread's share of a 10-class output
        // layer has just computed, on that thread (StepOutputRows).
        (Dense Last, NeuralCore.Losses.Loss Loss)? outputRows = LossByRows(threads, targets, batch);
        bool outputRowsRan = false;
        LastLossByRows = false;
        LastOutputRowsInReduction = false;
        if (outputRows is { } byRows)
        {
            byRows.Loss.CheckStep(batch * outputs, targets, grad.Length, batch, outputs);
        }
        else if (threads > 1)
        {
            // The loss gradient's lines were read on another core in the last step's backward, and a store to such a
            // line waits for that core to let it go: the loss, storing row after row, took 10-20 µs instead of 8-9 at
            // 128 x 10 (AMD EPYC Zen 5, 2 real cores). Zeros stored now take the lines back while the forward runs.
            _gradA.AsSpan(0, batch * OutputSize).Clear();
        }

        ReadOnlySpan<float> x = inputs[..(batch * InputSize)];
        for (int i = 0; i < _layers.Count; i++)
        {
            if (outputRows is { } output && i == _layers.Count - 1)
            {
                Span<float> logits = _activations[i].AsSpan(0, batch * outputs);
                ForwardOutputRows(null, output.Last, output.Loss, x, default, logits, grad, targets, batch);
                outputRowsRan = true;
                x = logits;
                continue;
            }

            if (_fusedRelu[i])
            {
                // The Dense writes the Relu's output directly; its own activation buffer is left unused.
                i++;
                Span<float> activated = _activations[i].AsSpan(0, batch * _layers[i].OutputSize);
                var dense = (Dense)_layers[i - 1];
                if (outputRows is { } fused && i + 1 == _layers.Count - 1)
                {
                    // The output layer's rows, their loss and accuracy count go on in this layer's reduction phase, on
                    // the thread that has just finished each row of H, where its threads divide one: one parallel
                    // region fewer a step, and a finished row of H is read on the core that wrote it.
                    Span<float> outputLogits = _activations[i + 1].AsSpan(0, batch * outputs);
                    if (ForwardOutputRows(dense, fused.Last, fused.Loss, x, activated, outputLogits, grad, targets, batch))
                    {
                        outputRowsRan = true;
                        LastOutputRowsInReduction = true;
                        x = outputLogits;
                        i++;
                        continue;
                    }

                    x = activated;
                    continue;
                }

                if (i + 1 < _layers.Count && _layers[i + 1] is Dense above)
                {
                    // Where threads own the first layer's columns, each computes its share of the narrow layer above from
                    // the columns it has just stored, in the same parallel region.
                    Span<float> aboveOutput = _activations[i + 1].AsSpan(0, batch * above.OutputSize);
                    if (dense.TryForwardFusedThenNarrow(x, activated, above, aboveOutput, batch))
                    {
                        x = aboveOutput;
                        i++;
                        continue;
                    }
                }

                dense.ForwardFused(x, activated, batch, relu: true);
                x = activated;
                continue;
            }

            Span<float> y = _activations[i].AsSpan(0, batch * _layers[i].OutputSize);
            _layers[i].Forward(x, y, batch, training: true);
            x = y;
        }

        bool rowsDone = outputRowsRan && _outputRows!.Complete;
        LastLossByRows = rowsDone;
        double loss = rowsDone ? outputRows!.Value.Loss.Reduced(_outputRows!.Total(), batch) : Loss.Compute(x, targets, grad, batch, outputs);
        (int correct, int judged) = rowsDone && _outputRowsCounted
            ? (_outputRows!.Correct, batch)
            : Loss.Task == LossTask.Regression && !targets.HasLabels
            ? (0, 0)
            : Scoring.Metrics.CountCorrect(x, targets, batch, outputs, Scoring.Metrics.AccuracyFor(Loss, outputs),
                Loss.Input == LossInput.Logits ? 0f : 0.5f);

        // The loss gradient is in _gradA; each layer reads one buffer and writes its input gradient into the other (except a
        // narrow layer whose gradients the first layer computes itself: Dense.BackwardThroughRelu).
        // Parameter gradients are overwritten (a Dense writes them; other layers' are zeroed before they accumulate).
        float[] current = _gradA, spare = _gradB;
        bool masked = false;

        // Set when the first layer's weight gradient computes the input gradient of the narrow layer above its ReLU
        // while packing it (Dense.BackwardThroughRelu): that gradient then never goes to memory, nor from one core to another.
        Dense? through = null;
        ReadOnlySpan<float> throughGrad = default;

        // Below the lowest layer that trains, no gradient is needed, as Keras takes none for the variables that are not
        // trainable: the pass stops at that layer, which skips its input gradient (a frozen base under a new head costs
        // its forward pass only). The layers below get gradients of 0 at every call, rather than the last ones they computed
        // or what a loop of one's own wrote there since: a memset (about 60 µs for a cold 784-1024 layer's, where a scan
        // for anything not 0 took longer).
        int lowest = LowestTrainedLayer();
        for (int i = 0; i < lowest; i++)
        {
            GradientsOf(_layers[i]).Clear();
        }

        for (int i = _layers.Count - 1; i >= lowest; i--)
        {
            ILayer layer = _layers[i];
            Span<float> outputGrad = current.AsSpan(0, batch * layer.OutputSize);
            if (i == 0 && through is not null)
            {
                ((Dense)layer).BackwardThroughRelu(inputs[..(batch * InputSize)], through, throughGrad, _activations[1].AsSpan(0, batch * layer.OutputSize), batch);
                break;
            }

            if (i > 0 && _fusedRelu[i - 1])
            {
                // The Relu of a fused pair: its backward is a mask by its own output, unless the layer above already
                // applied it while storing this gradient.
                if (!masked)
                {
                    Elementwise.ReluBackward(_activations[i].AsSpan(0, outputGrad.Length), outputGrad, outputGrad);
                }

                masked = false;
                continue;
            }

            ReadOnlySpan<float> input = i == 0 ? inputs[..(batch * InputSize)] : _activations[i - 1].AsSpan(0, batch * layer.InputSize);
            Span<float> inputGrad = i == lowest ? Span<float>.Empty : spare.AsSpan(0, batch * layer.InputSize);
            if (layer is Dense { Activation: Activation.Linear } dense)
            {
                // When this layer reads a fused Relu's output, that output is also the mask of the Relu's backward.
                masked = i >= 2 && _fusedRelu[i - 2];
                if (i == 2 && masked && lowest == 0 && ((Dense)_layers[0]).CanTakeGradientThrough(dense))
                {
                    // Its parameter gradients too are computed by the first layer's backward.
                    through = dense;
                    throughGrad = outputGrad;
                }
                else
                {
                    // A frozen layer above the lowest that trains passes the gradient down without computing its own.
                    dense.BackwardFused(input, outputGrad, inputGrad, batch, masked ? input : default, overwriteGradients: true,
                        parameterGradients: dense.Trainable);
                }
            }
            else
            {
                GradientsOf(layer).Clear();
                layer.Backward(input, _activations[i].AsSpan(0, batch * layer.OutputSize), outputGrad, inputGrad, batch);
                masked = false;
            }

            (current, spare) = (spare, current);
        }

        // A frozen layer above the lowest that trains passed the gradient down; its own read 0 as well (a linear Dense
        // computed none, the others theirs, cheap beside a product; so did the narrow layer whose gradients the first
        // layer's backward computes in its own pass, which costs less than that layer's input-gradient product alone).
        for (int i = lowest + 1; i < _layers.Count; i++)
        {
            if (_layers[i] is Layer { Trainable: false } frozen && frozen.ParameterCount > 0)
            {
                frozen.GradientStorage.Span.Clear();
            }
        }

        // As Keras, each regularizer's penalty joins the loss, and its derivative the gradient, before the update (a
        // layer's that trains: Keras 3 counts the regularizers of trainable variables only).
        for (int i = 0; i < _layers.Count; i++)
        {
            if (_layers[i] is Dense { IsRegularized: true, Trainable: true } regularized)
            {
                loss += regularized.TrainingPenalty(batch);
                if (!deferRegularizerGradients)
                {
                    regularized.AddRegularizationGradient(0, regularized.ParameterCount);
                }
            }
        }

        return new TrainStepResult(loss, correct, batch, judged);
    }

    /// <summary>The index of the lowest layer with parameters that trains (<see cref="Layer.Trainable"/>); the layer count when none does.</summary>
    private int LowestTrainedLayer()
    {
        for (int i = 0; i < _layers.Count; i++)
        {
            if (_layers[i].ParameterCount > 0 && _layers[i] is not Layer { Trainable: false })
            {
                return i;
            }
        }

        return _layers.Count;
    }

    /// <summary>Whether a layer that trains has a regularizer.</summary>
    private bool HasRegularizers
    {
        get
        {
            for (int i = 0; i < _layers.Count; i++)
            {
                if (_layers[i] is Dense { IsRegularized: true, Trainable: true })
                {
                    return true;
                }
            }

            return false;
        }
    }

    /// <summary>Adds every trained layer's regularizer gradient term to its gradients (what a deferring ComputeGradientsHeld left out).</summary>
    private void AddRegularizerGradients()
    {
        for (int i = 0; i < _layers.Count; i++)
        {
            if (_layers[i] is Dense { IsRegularized: true, Trainable: true } regularized)
            {
                regularized.AddRegularizationGradient(0, regularized.ParameterCount);
            }
        }
    }

    /// <summary>
    /// The sum of the trained layers' regularization penalties for the parameters as they are (0 without regularizers):
    /// as in Keras 3, a layer that is not <see cref="Layer.Trainable"/> adds none.
    /// </summary>
    internal double RegularizationPenalty()
    {
        double penalty = 0;
        for (int i = 0; i < _layers.Count; i++)
        {
            if (_layers[i] is Dense { IsRegularized: true, Trainable: true } regularized)
            {
                penalty += regularized.RegularizationPenalty();
            }
        }

        return penalty;
    }

    /// <summary>
    /// Predictions for a batch, in inference mode (dropout off), as the output layer and the loss define them: class
    /// probabilities for a loss on logits (softmax, or sigmoid for a binary loss), the last layer's outputs otherwise
    /// (probabilities from a Softmax or Sigmoid layer, values for a regression). An uncompiled model has no loss:
    /// its predictions are the last layer's outputs. Safe to call from several threads at once, but not from another
    /// thread while one trains the model (its weights are then mid-update; a <see cref="Predictor"/> made before keeps its own).
    /// </summary>
    /// <param name="inputs">The <c>[batch, InputSize]</c> samples.</param>
    /// <param name="predictions">The <c>[batch, OutputSize]</c> predictions, overwritten.</param>
    /// <param name="batch">The number of samples; non-negative.</param>
    /// <exception cref="ArgumentException">A span is shorter than its shape, or an input is NaN or infinite (named by its row and column).</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="batch"/> is negative, or too large for one activation buffer.</exception>
    /// <exception cref="InsufficientMemoryException">The batch's activation buffers need more memory than the process may use.</exception>
    /// <exception cref="InvalidOperationException">The model has no layers, or another thread is training it, or an output is NaN or infinite although its sample is finite (the weights overflow on it; named by its sample).</exception>
    public void Predict(ReadOnlySpan<float> inputs, Span<float> predictions, int batch) =>
        Predict(inputs, predictions, batch, checkFinite: true);

    /// <summary>
    /// <see cref="Predict(ReadOnlySpan{float}, Span{float}, int)"/>, with the finiteness check left to a caller that
    /// checked all of its samples at once (so that a bad value is named by its row in the caller's data, not the chunk's).
    /// </summary>
    internal void Predict(ReadOnlySpan<float> inputs, Span<float> predictions, int batch, bool checkFinite, int firstRow = 0)
    {
        using ReadScope read = EnterRead(nameof(Predict));
        CheckPredictions(predictions, batch, OutputSize);
        Infer(inputs, predictions, batch, checkFinite);
        Loss?.ToPredictions(predictions, predictions, batch, OutputSize);
        CheckOutputsFinite(predictions[..(batch * OutputSize)], OutputSize, firstRow, this, static model => model.ParametersFinite);
    }

    /// <summary>
    /// Throws when a prediction or output of finite inputs is NaN or infinite: the weights overflow on that input (or
    /// are not all finite), and a value returned anyway would pass a silent NaN on (a softmax of logits near 3e38 gave
    /// rows of NaN probabilities). <paramref name="firstRow"/> numbers the span's first row among the caller's samples;
    /// <paramref name="parametersFinite"/> is asked only for the message.
    /// </summary>
    /// <exception cref="InvalidOperationException">An output is NaN or infinite (named by its sample and value).</exception>
    internal static void CheckOutputsFinite<TOwner>(ReadOnlySpan<float> outputs, int width, int firstRow, TOwner owner, Func<TOwner, bool> parametersFinite)
    {
        int bad = Elementwise.IndexOfNonFinite(outputs);
        if (bad >= 0)
        {
            throw new InvalidOperationException(NonFiniteOutput(firstRow + (bad / width), outputs[bad], parametersFinite(owner), " although the sample is finite"));
        }
    }

    /// <summary>The message for an output that is not finite: which sample, what value (then <paramref name="consequence"/>), and what to do about it.</summary>
    internal static string NonFiniteOutput(long sample, float value, bool parametersFinite, string consequence) =>
        string.Create(CultureInfo.InvariantCulture,
            $"The model's output for sample {sample} is {value}{consequence}: its weights overflow on this input{(parametersFinite ? "" : " (they are not all finite)")}. Train it again with a lower learning rate, or check the inputs' scale.");

    /// <summary>Checks a predictions span before a forward pass, so that its own name is the one reported.</summary>
    internal static void CheckPredictions(Span<float> predictions, int batch, int outputs)
    {
        ThrowHelper.CheckNonNegative(batch, nameof(batch));
        Check.Holds(predictions.Length, batch, outputs, nameof(predictions), "batch");
    }

    /// <summary>The prediction for one sample (see <see cref="Predict(ReadOnlySpan{float}, Span{float}, int)"/>).</summary>
    /// <param name="sample">The <c>[InputSize]</c> sample.</param>
    /// <returns>The <c>[OutputSize]</c> prediction.</returns>
    /// <exception cref="ArgumentException"><paramref name="sample"/> does not have <see cref="InputSize"/> features, or one of them is NaN or infinite.</exception>
    /// <exception cref="InvalidOperationException">The model has no layers, or another thread is training it, or an output is NaN or infinite although its sample is finite (the weights overflow on it; named by its sample).</exception>
    public float[] Predict(ReadOnlySpan<float> sample)
    {
        using ReadScope read = EnterRead(nameof(Predict));
        if (sample.Length != InputSize)
        {
            throw new ArgumentException($"The sample has {sample.Length} features but the model expects {InputSize}.", nameof(sample));
        }

        Check.Finite(sample, InputSize, nameof(sample));
        float[] probabilities = new float[OutputSize];
        Predict(sample, probabilities, 1, checkFinite: false);
        return probabilities;
    }

    /// <summary>
    /// The raw outputs of the last layer for a batch, in inference mode (logits when the loss expects them). Safe
    /// to call from several threads at once: it works in pooled buffers, not the model's own; but not from another
    /// thread while one trains the model.
    /// </summary>
    /// <param name="inputs">The <c>[batch, InputSize]</c> samples.</param>
    /// <param name="outputs">The <c>[batch, OutputSize]</c> outputs, overwritten.</param>
    /// <param name="batch">The number of samples; non-negative.</param>
    /// <exception cref="ArgumentException">A span is shorter than its shape, or an input is NaN or infinite (named by its row and column).</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="batch"/> is negative, or too large for one activation buffer.</exception>
    /// <exception cref="InsufficientMemoryException">The batch's activation buffers need more memory than the process may use.</exception>
    /// <exception cref="InvalidOperationException">The model has no layers, or another thread is training it, or an output is NaN or infinite although its sample is finite (the weights overflow on it; named by its sample).</exception>
    public void Infer(ReadOnlySpan<float> inputs, Span<float> outputs, int batch)
    {
        Infer(inputs, outputs, batch, checkFinite: true);
        CheckOutputsFinite(outputs[..(batch * OutputSize)], OutputSize, 0, this, static model => model.ParametersFinite);
    }

    /// <summary><see cref="Infer(ReadOnlySpan{float}, Span{float}, int)"/>; <paramref name="checkFinite"/> false for inputs already checked (a <see cref="Data.Dataset"/>'s, or a caller's whole span).</summary>
    internal void Infer(ReadOnlySpan<float> inputs, Span<float> outputs, int batch, bool checkFinite)
    {
        using ReadScope read = EnterRead(nameof(Infer));
        InferLayers(_layers, _fusedRelu, null, inputs, outputs, batch, checkFinite);
    }

    /// <summary>Activation buffers of at least this many floats (256 MB) are checked against the memory the process may use.</summary>
    internal const long LargeScratch = 1L << 26;

    /// <summary>The largest of <paramref name="floor"/> and the layers' output sizes: the width of one sample's activation buffer.</summary>
    internal static int WidestOutput(IReadOnlyList<ILayer> layers, int floor)
    {
        // A loop, not Max(): enumerating the list through its interface allocated an enumerator on every call.
        int widest = floor;
        for (int i = 0; i < layers.Count; i++)
        {
            widest = Math.Max(widest, layers[i].OutputSize);
        }

        return widest;
    }

    /// <summary>
    /// The inference forward of <paramref name="layers"/> (<see cref="Infer(ReadOnlySpan{float}, Span{float}, int)"/>),
    /// each dense layer <c>i</c> with <c>frozen[i]</c> reading that frozen copy of its parameters instead of its own.
    /// </summary>
    internal static void InferLayers(IReadOnlyList<ILayer> layers, bool[] fusedRelu, Dense.Frozen?[]? frozen,
        ReadOnlySpan<float> inputs, Span<float> outputs, int batch, bool checkFinite)
    {
        if (layers.Count == 0)
        {
            throw new InvalidOperationException("The model has no layers.");
        }

        int inputSize = layers[0].InputSize, outputSize = layers[^1].OutputSize;
        ThrowHelper.CheckNonNegative(batch, nameof(batch));
        Check.Holds(inputs.Length, batch, inputSize, nameof(inputs), "batch", exact: true);
        Check.Holds(outputs.Length, batch, outputSize, nameof(outputs), "batch");
        if (checkFinite)
        {
            // A NaN or an infinity in the inputs made every prediction of its row NaN, silently; Fit and Evaluate refuse
            // them, and so does prediction. One vector pass: about 13 ns for a 784-feature sample.
            Check.Finite(inputs, inputSize, nameof(inputs));
        }

        int widest = WidestOutput(layers, 0);
        long scratch = (long)batch * widest;
        if (scratch > Array.MaxLength)
        {
            throw new ArgumentOutOfRangeException(nameof(batch), batch,
                $"A batch of {batch} needs {scratch} floats per activation buffer, more than an array holds: predict in smaller batches.");
        }

        if (scratch >= LargeScratch)
        {
            // Two buffers of up to 8 GB each that fit in an array but not in memory ran out of it (OutOfMemoryException
            // at 1,000 samples of a 1,000,000-unit layer under a 2 GB heap limit). Checked only for large buffers: the
            // GC's memory figure allocates, and a prediction allocates nothing after warm-up.
            Check.FitsInMemory(8m * scratch, $"A batch of {batch} samples' two activation buffers ({batch} × {widest} floats each)", "predict in smaller batches");
        }

        // The few-row products of a call (GemmRows) know the model: one whose weights exceed a core's L2 runs two dense
        // layers in one parallel region, and one whose weights each thread can keep in its L2 reads them in passes that
        // alternate in direction from call to call. Larger batches take the blocked path, where neither applies.
        long weightBytes = 0;
        if (batch <= GemmRows.MaxRowsUnpacked)
        {
            for (int i = 0; i < layers.Count; i++)
            {
                weightBytes += 4L * layers[i].ParameterCount;
            }
        }

        float[] a = ArrayPool<float>.Shared.Rent(Math.Max(1, (int)scratch));
        float[] b = ArrayPool<float>.Shared.Rent(Math.Max(1, (int)scratch));
        // Outputs that overlap the inputs: the element-wise layers read and write one element at a time, so a shifted
        // overlap read values already written (a single Softmax or capped ReLU gave wrong outputs), and the product
        // refused it by its own parameter names. The inputs are copied first.
        float[]? inputCopy = outputs.Overlaps(inputs[..(batch * inputSize)]) ? ArrayPool<float>.Shared.Rent(Math.Max(1, batch * inputSize)) : null;
        using GemmRows.ModelScope scope = GemmRows.ForModel(weightBytes);
        try
        {
            ReadOnlySpan<float> x = inputs[..(batch * inputSize)];
            if (inputCopy is not null)
            {
                x.CopyTo(inputCopy);
                x = inputCopy.AsSpan(0, batch * inputSize);
            }

            bool useA = true;
            for (int i = 0; i < layers.Count; i++)
            {
                bool fused = fusedRelu[i];
                int last = fused ? i + 1 : i;
                ILayer layer = layers[last];
                Span<float> y = last == layers.Count - 1
                    ? outputs[..(batch * layer.OutputSize)]
                    : (useA ? a : b).AsSpan(0, batch * layer.OutputSize);
                // Two dense layers of a large model for a few samples (dropout or noise between them is the identity here): one
                // parallel region instead of two. Their output may go to the buffer that holds their input (x): the pair
                // writes it only after the join.
                int next = last + 1;
                while (GemmRows.InLargeModelScope && next < layers.Count && layers[next] is Layer { InferenceIsIdentity: true })
                {
                    next++;
                }

                if (GemmRows.InLargeModelScope && next < layers.Count && layers[i] is Dense first && layers[next] is Dense second)
                {
                    int nextLast = fusedRelu[next] ? next + 1 : next;
                    Span<float> y2 = nextLast == layers.Count - 1
                        ? outputs[..(batch * second.Units)]
                        : (useA ? b : a).AsSpan(0, batch * second.Units);
                    if (Dense.TryForwardPair(first, frozen?[i], fused, second, frozen?[next], fusedRelu[next], x, y, y2, batch))
                    {
                        i = nextLast;
                        x = y2;
                        continue;
                    }
                }

                if (frozen?[i] is { } copy)
                {
                    ((Dense)layers[i]).ForwardFrozen(copy, x, y, batch, fused);
                }
                else if (fused)
                {
                    ((Dense)layers[i]).ForwardFused(x, y, batch, relu: true);
                }
                else
                {
                    layer.Forward(x, y, batch, training: false);
                }

                i = last;
                useA = !useA;
                x = y;
            }
        }
        finally
        {
            ArrayPool<float>.Shared.Return(a);
            ArrayPool<float>.Shared.Return(b);
            if (inputCopy is not null)
            {
                ArrayPool<float>.Shared.Return(inputCopy);
            }
        }
    }

    /// <summary>
    /// A frozen copy of the model for fast inference (<see cref="Predictor"/>): each dense layer's weights packed
    /// once for the matrix product, so that predicting a batch does not pack them again. Its predictions are bitwise
    /// those of <see cref="Predict(ReadOnlySpan{float}, Span{float}, int)"/> now; later training or changes to the
    /// model do not reach it (create a new one).
    /// </summary>
    /// <returns>The predictor; it holds copies of every weight (as given and packed, plus in column chunks for a layer of more than 128 units; once for a layer of at most 16 units on the 512-bit path, which is read unpacked).</returns>
    /// <exception cref="InvalidOperationException">The model has no layers, or another thread is training it.</exception>
    /// <exception cref="NotSupportedException">A layer with parameters or state has no copy for prediction (the library's own all have one; a custom layer with parameters does not).</exception>
    /// <exception cref="InsufficientMemoryException">A weight matrix's copy or packed panels (its columns padded to the tile width) are more than one array holds.</exception>
    public Predictor CreatePredictor()
    {
        using ReadScope read = EnterRead(nameof(CreatePredictor));
        return new(_layers, _fusedRelu, Loss, Name);
    }

    /// <summary>
    /// Keras's model summary: each layer with its type, output shape and parameter count, then the totals.
    /// </summary>
    /// <returns>The table, lines separated by <c>\n</c>.</returns>
    public string Summary()
    {
        // Keras's columns, the first widened to the longest "name (type)" (layer_normalization (LayerNormalization) ran
        // into its output shape).
        const int shapeWidth = 26;
        int nameWidth = Math.Max(29, _layers.Count == 0 ? 0 : _layers.Max(l => $"{Names.Printable(l.Name)} ({l.TypeId})".Length) + 3);
        var text = new StringBuilder();
        string rule = new('_', nameWidth + 36), doubleRule = new('=', nameWidth + 36);
        text.Append(CultureInfo.InvariantCulture, $"Model: \"{Names.Printable(Name)}\"\n").Append(rule).Append('\n');
        text.Append(' ').Append("Layer (type)".PadRight(nameWidth - 1)).Append("Output Shape".PadRight(shapeWidth)).Append("Param #\n");
        text.Append(doubleRule).Append('\n');
        long nonTrainable = 0;
        for (int i = 0; i < _layers.Count; i++)
        {
            ILayer layer = _layers[i];
            string type = layer.TypeId;
            string label = $"{Names.Printable(layer.Name)} ({type})";
            string shape = string.Create(CultureInfo.InvariantCulture, $"(None, {layer.OutputSize})");
            // As Keras counts them: a batch normalization's running statistics are its non-trainable weights.
            long fixedWeights = (layer as Layer)?.NonTrainableCount ?? 0;
            nonTrainable += fixedWeights + (layer is Layer { Trainable: false } ? layer.ParameterCount : 0);
            text.Append(' ').Append(label.PadRight(nameWidth - 1)).Append(shape.PadRight(shapeWidth))
                .Append((layer.ParameterCount + fixedWeights).ToString(CultureInfo.InvariantCulture)).Append('\n');
        }

        text.Append(doubleRule).Append('\n');

        long total = ParameterCount + _layers.Sum(l => (long)((l as Layer)?.NonTrainableCount ?? 0)), trainable = total - nonTrainable;
        text.Append(CultureInfo.InvariantCulture, $"Total params: {total} ({FormatBytes(total * sizeof(float))})\n");
        text.Append(CultureInfo.InvariantCulture, $"Trainable params: {trainable} ({FormatBytes(trainable * sizeof(float))})\n");
        text.Append(CultureInfo.InvariantCulture, $"Non-trainable params: {nonTrainable} ({FormatBytes(nonTrainable * sizeof(float))})\n").Append(rule).Append('\n');
        return text.ToString();
    }

    // Keras 3's readable_memory_size: B, KB, MB, GB, ... in steps of 1024, two decimals.
    private static string FormatBytes(long bytes)
    {
        string[] units = ["B", "KB", "MB", "GB", "TB", "PB"];
        double size = bytes;
        int unit = 0;
        while (size >= 1024 && unit < units.Length - 1)
        {
            size /= 1024;
            unit++;
        }

        return string.Create(CultureInfo.InvariantCulture, $"{size:0.00} {units[unit]}");
    }

    private void CheckBatch(ReadOnlySpan<float> inputs, LossTargets targets, int batch)
    {
        Check.Positive(batch, nameof(batch), "batch size");

        Check.Holds(inputs.Length, batch, InputSize, nameof(inputs), "batch", exact: true);
        if (targets.HasLabels && targets.Labels.Length != batch)
        {
            throw Invalid($"labels holds {targets.Labels.Length} values but the batch has {batch} samples: one label per sample, no more and no fewer.", "labels");
        }

        if (!targets.SampleWeights.IsEmpty && targets.SampleWeights.Length != batch)
        {
            throw new ArgumentException(
                $"The sample weights hold {targets.SampleWeights.Length} values but the batch has {batch} samples: one weight per sample, no more and no fewer.", nameof(targets));
        }

        if (!targets.HasLabels && targets.Values.Length != (long)batch * OutputSize)
        {
            throw new ArgumentException(
                $"The targets hold {targets.Values.Length} values but the shape [batch={batch}, {OutputSize}] needs exactly {(long)batch * OutputSize}: a target row per sample, one value per model output.", nameof(targets));
        }
    }

    // The labels travel inside the targets, but the message names them as the caller passed them.
    private static ArgumentException Invalid(string message, string paramName) => new(message, paramName);

    /// <summary>The last layer's outputs of the last training step (before its update), <c>[batch, OutputSize]</c>.</summary>
    internal ReadOnlySpan<float> LastOutputs(int batch) => _activations[^1].AsSpan(0, batch * OutputSize);

    private void EnsureCapacity(int batch)
    {
        if (batch <= _capacity && _activations.Length == _layers.Count)
        {
            return;
        }

        Grow(Math.Max(batch, _capacity));
    }

    /// <summary>
    /// Refuses buffers for <paramref name="maxBatchSize"/> samples that no array can hold or that exceed the memory the
    /// process may use, naming the batch size and the widest layer, instead of failing with an overflow or running out
    /// of memory halfway.
    /// </summary>
    private void CheckBufferSizes(int maxBatchSize, int width)
    {
        long largest = (long)maxBatchSize * width;
        if (largest > Array.MaxLength)
        {
            throw new ArgumentOutOfRangeException(nameof(maxBatchSize), maxBatchSize,
                $"A batch of {maxBatchSize} samples needs buffers of {maxBatchSize} × {width} (the widest layer) = {largest} floats, more than a .NET array holds ({Array.MaxLength}); use a smaller batch.");
        }

        decimal bytes = 4m * maxBatchSize * ((2m * width) + _layers.Sum(l => (decimal)l.OutputSize));
        Check.FitsInMemory(bytes, $"A batch of {maxBatchSize} samples' activation buffers", "use a smaller batch or narrower layers");
    }

    // Kept apart from EnsureCapacity: the lambdas' closure would otherwise be allocated on every call.
    private void Grow(int capacity)
    {
        // Each layer's input is the input or the layer before's output.
        int width = WidestOutput(_layers, InputSize);
        CheckBufferSizes(capacity, width);
        _activations = [.. _layers.Select(l => new float[(long)capacity * l.OutputSize])];
        _gradA = new float[(long)capacity * width];
        _gradB = new float[(long)capacity * width];
        _capacity = capacity;
    }
}
