namespace NeuralCore.Training;

/// <summary>Options of <see cref="ModelTraining.Fit(Models.Sequential, Data.Dataset, FitOptions?)"/>, with Keras's defaults.</summary>
public sealed record FitOptions
{
    /// <summary>
    /// The epoch to train up to (default 1), Keras's <c>epochs</c>: Fit trains epochs
    /// <see cref="InitialEpoch"/> + 1 to <c>Epochs</c>, so without <see cref="InitialEpoch"/> it is the number of epochs.
    /// </summary>
    public int Epochs { get; init; } = 1;

    /// <summary>
    /// The epochs already trained (default 0), Keras's <c>initial_epoch</c>: the history, the callbacks and the progress
    /// number this call's epochs from <c>InitialEpoch + 1</c> (to resume a run). Shuffling does not depend on it; it
    /// follows <see cref="Models.Sequential.EpochsTrained"/>.
    /// </summary>
    public int InitialEpoch { get; init; }

    /// <summary>Samples per step (default 32, as Keras); positive. The last batch of an epoch may be smaller.</summary>
    public int BatchSize { get; init; } = 32;

    /// <summary>
    /// The fraction of the data held out for validation, in [0, 1) (default 0). As in Keras, the split comes before
    /// any shuffling and takes the <b>last</b> samples: the first <c>(int)(count·(1 - split))</c> train.
    /// Ignored when <see cref="ValidationInputs"/> is given.
    /// </summary>
    public double ValidationSplit { get; init; }

    /// <summary>
    /// Validate after every <c>ValidationFrequency</c>-th epoch only (Keras's <c>validation_freq</c>; default 1, every
    /// epoch): epoch <c>e</c> (from 1, counted as the history counts it) validates when <c>e % ValidationFrequency == 0</c>.
    /// The other epochs report no <c>val_</c> values (<see cref="EpochMetrics.ValidationLoss"/> null, NaN in
    /// <see cref="History.ValidationLoss"/>, <c>NA</c> in <see cref="CsvLogger"/>'s file), and the callbacks that monitor
    /// one skip them (<see cref="EarlyStopping"/> counts its patience in validated epochs, as Keras). Positive; ignored
    /// without validation data.
    /// </summary>
    public int ValidationFrequency { get; init; } = 1;

    /// <summary>Explicit validation samples <c>[count, InputSize]</c>; with <see cref="ValidationLabels"/> or <see cref="ValidationTargets"/>.</summary>
    public float[]? ValidationInputs { get; init; }

    /// <summary>Explicit validation labels <c>[count]</c>.</summary>
    public int[]? ValidationLabels { get; init; }

    /// <summary>Explicit real-valued validation targets <c>[count, OutputSize]</c>.</summary>
    public float[]? ValidationTargets { get; init; }

    /// <summary>
    /// Explicit validation data (Keras's <c>validation_data</c>), with its sample weights if it has any; takes the place
    /// of <see cref="ValidationSplit"/> and of the validation arrays.
    /// </summary>
    public Data.Dataset? ValidationData { get; init; }

    /// <summary>
    /// Per-sample weights <c>[count]</c> of the training arrays (Keras's <c>sample_weight</c>; a dataset carries its
    /// own, <see cref="Data.Dataset.WithSampleWeights"/>). Each sample's loss is multiplied by its weight.
    /// </summary>
    public float[]? SampleWeights { get; init; }

    /// <summary>
    /// Weights by class (Keras's <c>class_weight</c>): each training sample's loss is multiplied by its class's weight
    /// (classes not listed weigh 1). A sample's class is its label, its target row's argmax, or for one output its 0/1
    /// target. Not applied to validation data; not combinable with sample weights, as in Keras. Under a regression
    /// loss the targets must be 0s and 1s (one-hot rows, or one 0/1 output): a real value has no class, and is refused.
    /// </summary>
    public IReadOnlyDictionary<int, float>? ClassWeights { get; init; }

    /// <summary>Whether the training samples are reshuffled before every epoch (default true).</summary>
    public bool Shuffle { get; init; } = true;

    /// <summary>The shuffling seed; null derives it from the model's seed, so one seed fixes the whole run.</summary>
    public ulong? Seed { get; init; }

    /// <summary>
    /// Progress on the console (Keras's <c>verbose</c>): 0 (default) prints nothing, 1 a progress bar on a terminal and
    /// one line per epoch when output is redirected, 2 one line per epoch (<see cref="ProgressLogger"/>, run before
    /// <see cref="Callbacks"/>). Keras defaults to 1; a library that prints by default would write into the output of
    /// every program that uses it, so NeuralCore defaults to 0.
    /// </summary>
    public int Verbose { get; init; }

    /// <summary>Callbacks, run in order (progress, early stopping, …); neither the list nor an entry may be null.</summary>
    public IReadOnlyList<Callback> Callbacks { get; init; } = [];

    /// <summary>
    /// Whether Fit times its steps on the threads their size asks for and on one thread, a few steps each now and then,
    /// and runs the steps in between on whichever was faster (default true); on several threads it likewise times the
    /// batch gather's two ways of storing the batch (streaming stores, or stores that keep it in a cache), whose costs
    /// depend on where the host puts the cores. The results are the same bits either way; false keeps every step on the
    /// threads its size asks for (within <see cref="Parallelism.DegreeOfParallelism"/>) with streaming stores, for a
    /// measurement of a fixed configuration.
    /// </summary>
    public bool MeasureStepThreads { get; init; } = true;

    /// <summary>Stops training after the current step when cancelled: Fit then throws <see cref="OperationCanceledException"/>, the model intact.</summary>
    public CancellationToken CancellationToken { get; init; }
}
