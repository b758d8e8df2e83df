using NeuralCore.Data;
using NeuralCore.Layers;
using NeuralCore.Losses;
using NeuralCore.Models;
using NeuralCore.Optimizers;
using NeuralCore.Training;

namespace NeuralCore.Tests.Training;

/// <summary><see cref="FitOptions.ValidationFrequency"/>: Keras's <c>validation_freq</c>, and the callbacks beside it.</summary>
public sealed class ValidationFrequencyTests : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("neuralcore-validation-frequency-").FullName;

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    private static Dataset Data()
    {
        var (x, y) = FitTests.Blobs(400, seed: 5);
        return new Dataset(x, y, 2);
    }

    [Fact]
    public void Every_nth_epoch_validates_and_the_training_is_the_same_as_with_every_epoch()
    {
        Sequential every = FitTests.Model(), second = FitTests.Model();
        History all = every.Fit(Data(), new FitOptions { Epochs = 5, ValidationSplit = 0.25 });
        History some = second.Fit(Data(), new FitOptions { Epochs = 5, ValidationSplit = 0.25, ValidationFrequency = 2 });

        Assert.Equal(all.Loss, some.Loss);
        Assert.Equal(every.Parameters.ToArray(), second.Parameters.ToArray());
        foreach (EpochMetrics epoch in some.Epochs)
        {
            if (epoch.Epoch % 2 == 0)
            {
                Assert.Equal(all.Epochs[epoch.Epoch - 1].ValidationLoss, epoch.ValidationLoss);
                Assert.Equal(all.Epochs[epoch.Epoch - 1].Values["val_accuracy"], epoch.Values["val_accuracy"]);
            }
            else
            {
                Assert.Null(epoch.ValidationLoss);
                Assert.Null(epoch.ValidationAccuracy);
                Assert.DoesNotContain(epoch.Values.Keys, k => k.StartsWith("val_", StringComparison.Ordinal));
                Assert.True(double.IsNaN(some.ValidationLoss[epoch.Epoch - 1]));
            }
        }

        // Resumed at epoch 5, epoch 6 validates: the history's numbering decides, as Keras's epoch index.
        History resumed = second.Fit(Data(), new FitOptions { Epochs = 7, InitialEpoch = 5, ValidationSplit = 0.25, ValidationFrequency = 2 });
        Assert.Equal([6, 7], resumed.Epochs.Select(e => e.Epoch));
        Assert.NotNull(resumed.Epochs[0].ValidationLoss);
        Assert.Null(resumed.Epochs[1].ValidationLoss);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(-2)]
    public void A_frequency_below_one_is_refused_by_name(int frequency)
    {
        Sequential model = FitTests.Model();
        var e = Assert.Throws<ArgumentException>(() => model.Fit(Data(), new FitOptions { ValidationSplit = 0.25, ValidationFrequency = frequency }));
        Assert.Contains($"FitOptions.ValidationFrequency of at least 1 (validate every that many epochs). Received: {frequency}.", e.Message, StringComparison.Ordinal);
        Assert.Equal(0, model.EpochsTrained);
    }

    // Drives a callback through epochs of which every second validates, with scripted val_loss values (NaN: not validated).
    private static TrainingContext Drive(Callback callback, params double[] valLosses)
    {
        var model = new Sequential(2, 4).Add(new Dense(4));
        model.Compile(new SoftmaxCrossEntropy(), new Sgd(0.1f));
        var context = new TrainingContext(model, valLosses.Length, 1, 32, new History(), ["loss", "val_loss"]) { ValidationFrequency = 2 };
        callback.OnTrainBegin(context);
        for (int epoch = 1; epoch <= valLosses.Length && !context.StopRequested; epoch++)
        {
            bool validates = context.Validates(epoch);
            Assert.Equal(!double.IsNaN(valLosses[epoch - 1]), validates);
            var values = new Dictionary<string, double> { ["loss"] = 1 };
            if (validates)
            {
                values["val_loss"] = valLosses[epoch - 1];
            }

            callback.OnEpochEnd(new EpochMetrics(epoch, 1, double.NaN, validates ? valLosses[epoch - 1] : null, null, 0) { Values = values }, context);
        }

        return context;
    }

    [Fact]
    public void Early_stopping_counts_its_patience_in_validated_epochs_and_skips_the_others()
    {
        // Epochs 4 and 6 do not improve on epoch 2: two validated epochs without improvement. Before the epochs without
        // validation were skipped, the first of them threw "EarlyStopping monitors 'val_loss', which this training does
        // not report".
        var patient = new EarlyStopping("val_loss", patience: 2);
        Drive(patient, double.NaN, 1.0, double.NaN, 1.1, double.NaN, 1.2, double.NaN, 0.5);
        Assert.Equal(6, patient.StoppedEpoch);
        Assert.Equal(2, patient.BestEpoch);

        var impatient = new EarlyStopping("val_loss", patience: 1);
        Drive(impatient, double.NaN, 1.0, double.NaN, 1.1, double.NaN, 0.5);
        Assert.Equal(4, impatient.StoppedEpoch);
    }

    [Fact]
    public void The_plateau_counts_validated_epochs_only_and_epochs_without_validation_change_nothing()
    {
        var plateau = new ReduceLROnPlateau("val_loss", factor: 0.5f, patience: 2, cooldown: 0);
        TrainingContext context = Drive(plateau, double.NaN, 1.0, double.NaN, 1.0, double.NaN, 1.0, double.NaN);
        // Epochs 4 and 6 did not improve on epoch 2: one reduction, at epoch 6.
        Assert.Equal(["epoch 6: 0.1 -> 0.05"], plateau.Reductions);
        Assert.Equal(0.05f, context.Model.Optimizer!.LearningRate);
    }

    [Fact]
    public void Checkpoints_and_logs_write_what_the_validated_epochs_measured()
    {
        Sequential model = FitTests.Model();
        string best = Path.Combine(_folder, "best-{epoch}-{val_loss:.4f}.ncm"), log = Path.Combine(_folder, "log.csv");
        var checkpoint = new ModelCheckpoint(best, monitor: "val_loss", saveBestOnly: true);
        History history = model.Fit(Data(), new FitOptions
        {
            Epochs = 5,
            ValidationSplit = 0.25,
            ValidationFrequency = 2,
            Callbacks = [checkpoint, new CsvLogger(log)],
        });

        // Only epochs 2 and 4 measured val_loss: the best is one of them, and no other epoch was saved.
        Assert.Contains(checkpoint.BestEpoch, new[] { 2, 4 });
        Assert.All(Directory.GetFiles(_folder, "best-*.ncm"), f => Assert.Matches(@"best-[24]-\d\.\d{4}\.ncm$", f));

        string[] lines = File.ReadAllLines(log);
        Assert.Equal("epoch,accuracy,loss,val_accuracy,val_loss,seconds", lines[0]);
        Assert.Equal(6, lines.Length);
        Assert.Matches(@"^1,[^,]+,[^,]+,NA,NA,[^,]+$", lines[1]);
        Assert.Matches(@"^4,[^,]+,[^,]+,[0-9.E-]+,[0-9.E-]+,[^,]+$", lines[4]);

        // The verdict reads the validated epochs: the last epoch (5) did not validate, epoch 4 did.
        OverfittingVerdict verdict = OverfittingVerdict.Judge(history, "val_loss");
        Assert.NotEqual(OverfittingAnswer.CannotTell, verdict.Answer);
        Assert.Contains("validation loss from", verdict.Evidence, StringComparison.Ordinal);
        Assert.Contains(verdict.LowestValidationLossEpoch, new int?[] { 2, 4 });
    }

    [Fact]
    public void A_checkpoint_of_every_epoch_whose_path_names_a_validation_value_is_refused_before_training()
    {
        Sequential model = FitTests.Model();
        var every = new ModelCheckpoint(Path.Combine(_folder, "m-{epoch}-{val_loss:.3f}.ncm"));
        var e = Assert.Throws<InvalidOperationException>(() => model.Fit(Data(), new FitOptions
        {
            Epochs = 2,
            ValidationSplit = 0.25,
            ValidationFrequency = 2,
            Callbacks = [every],
        }));
        Assert.StartsWith("ModelCheckpoint's path names {val_loss}, which only the epochs that validate report (FitOptions.ValidationFrequency is 2)", e.Message, StringComparison.Ordinal);
        Assert.Equal(0, model.EpochsTrained);
        Assert.Empty(Directory.GetFiles(_folder));
    }
}
