using NeuralCore.Data;
using NeuralCore.Layers;
using NeuralCore.Losses;
using NeuralCore.Models;
using NeuralCore.Optimizers;
using NeuralCore.Serialization;
using NeuralCore.Training;

namespace NeuralCore.Tests.Optimizers;

public class LearningRateScheduleTests
{
    // Keras 3 CosineDecay, evaluated by hand: 0.5·(1 + cos(π·s/d)) scaled between alpha and 1.
    [Theory]
    [InlineData(0, 0.1)]
    [InlineData(25, 0.1 * 0.5 * (1 + 0.70710678118654757))]
    [InlineData(50, 0.05)]
    [InlineData(100, 0)]
    [InlineData(1000, 0)]
    public void Cosine_decay_without_warmup_follows_keras(long step, double expected)
    {
        var schedule = new CosineDecay(0.1f, 100);
        Assert.Equal(expected, schedule.Rate(step), 7);
    }

    [Theory]
    [InlineData(0, 0.01)]
    [InlineData(5, 0.055)]
    [InlineData(10, 0.1)]
    [InlineData(60, 0.1 * ((0.8 * 0.5) + 0.2))]
    [InlineData(110, 0.02)]
    [InlineData(500, 0.02)]
    public void Cosine_decay_warms_up_linearly_then_decays_from_the_target_to_alpha(long step, double expected)
    {
        var schedule = new CosineDecay(0.01f, 100, alpha: 0.2f, warmupTarget: 0.1f, warmupSteps: 10);
        Assert.Equal(expected, schedule.Rate(step), 6);
    }

    [Fact]
    public void One_cycle_matches_pytorchs_one_cycle_lr()
    {
        // golden_schedules.py: torch.optim.lr_scheduler.OneCycleLR(max_lr=0.1, total_steps=20), cosine, defaults.
        double[] torch =
        [
            0.0040000000000000036, 0.013167184270002533, 0.037167184270002526, 0.06683281572999747, 0.09083281572999748,
            0.1, 0.09874640062350874, 0.09504846320134738, 0.089091617757105, 0.0811745653949763, 0.07169430017913009,
            0.06112620219362893, 0.0500002, 0.03887419780637107, 0.028306099820869922, 0.0188258346050237,
            0.010908782242895003, 0.004951936798652629, 0.0012539993764912555, 4e-07,
        ];
        var schedule = new OneCycle(0.1f, 20);
        for (int step = 0; step < torch.Length; step++)
        {
            Assert.Equal(torch[step], schedule.Rate(step), 7);
        }

        Assert.Equal(4e-7, schedule.Rate(500), 9);
        Assert.Equal("pctStart", Assert.Throws<ArgumentOutOfRangeException>(() => new OneCycle(0.1f, 20, pctStart: 1)).ParamName);
        Assert.Equal("totalSteps", Assert.Throws<ArgumentOutOfRangeException>(() => new OneCycle(0.1f, 1)).ParamName);
    }

    [Theory]
    [InlineData(0, false, 0.1)]
    [InlineData(5, false, 0.07071067811865477)]
    [InlineData(25, false, 0.01767766952966369)]
    [InlineData(5, true, 0.1)]
    [InlineData(10, true, 0.05)]
    [InlineData(25, true, 0.025)]
    // Past half a period: the staircase floors (17 / 10 is stair 1), where rounding would give stair 2.
    [InlineData(17, true, 0.05)]
    [InlineData(9, true, 0.1)]
    public void Exponential_decay_follows_keras(long step, bool staircase, double expected) =>
        Assert.Equal(expected, new ExponentialDecay(0.1f, 10, 0.5f, staircase).Rate(step), 7);

    [Fact]
    public void Piecewise_constant_decay_takes_each_boundary_into_the_piece_before_it()
    {
        // Keras: values[0] for step <= boundaries[0], values[1] for boundaries[0] < step <= boundaries[1], ...
        var schedule = new PiecewiseConstantDecay([100, 200], [1f, 0.5f, 0.1f]);
        Assert.Equal([1f, 1f, 0.5f, 0.5f, 0.1f], new long[] { 0, 100, 101, 200, 201 }.Select(schedule.Rate));
        Assert.Throws<ArgumentException>(() => new PiecewiseConstantDecay([100, 100], [1f, 0.5f, 0.1f]));
        Assert.Throws<ArgumentException>(() => new PiecewiseConstantDecay([100], [1f]));
    }

    [Fact]
    public void Reduce_lr_on_plateau_follows_keras_patience_cooldown_and_minimum()
    {
        var (x, y) = Training.FitTests.Blobs(32, 3);
        var model = new Sequential(2, 4).Add(new Dense(4));
        var sgd = new Sgd(1f);
        model.Compile(new SoftmaxCrossEntropy(), sgd);

        // Drive the callback with a scripted loss: improves, then plateaus.
        double[] losses = [1.0, 0.9, 0.9, 0.9, 0.9, 0.9, 0.9, 0.9, 0.5];
        var plateau = new ReduceLROnPlateau("loss", factor: 0.5f, patience: 2, cooldown: 1, minLearningRate: 0.3f);
        List<float> rates = Rates(plateau, model, losses);
        var context = new TrainingContext(model, losses.Length, 1, 32, new History());

        // Epoch 4: two epochs without improvement -> 0.5. Epoch 5 ends the one-epoch cooldown, and Keras counts it once
        // the cooldown is over (its counter reaches 0 first), so epoch 6 is the second -> max(0.25, 0.3). Then the rate
        // stays at the minimum.
        Assert.Equal([1f, 1f, 1f, 0.5f, 0.5f, 0.3f, 0.3f, 0.3f, 0.3f], rates);
        Assert.Equal(2, plateau.Reductions.Count);
        Assert.Throws<ArgumentOutOfRangeException>(() => new ReduceLROnPlateau(factor: 1f));
        var missing = new ReduceLROnPlateau();
        missing.OnTrainBegin(context);
        Assert.Contains("val_loss", Assert.Throws<InvalidOperationException>(() =>
            missing.OnEpochEnd(new EpochMetrics(1, 1, double.NaN, null, null, 0), context)).Message, StringComparison.Ordinal);
        _ = (x, y);
    }

    [Fact]
    public void Reduce_lr_on_plateau_waits_out_its_cooldown_and_forgets_its_best_between_trainings()
    {
        // The test above uses a cooldown of 1, which under Keras's counting gives the rates of no cooldown at all, so
        // the cooldown could be removed without a test failing. On a flat loss with patience 1, Keras reduces at epoch 2,
        // then its cooldown of 2 holds epochs 3 and 4 back (4 ends it and counts): 2, 4, 6; without cooldown, every epoch.
        var model = new Sequential(2, 4).Add(new Dense(4));
        var sgd = new Sgd(1f);
        model.Compile(new SoftmaxCrossEntropy(), sgd);
        var plateau = new ReduceLROnPlateau("loss", factor: 0.5f, patience: 1, cooldown: 2);
        List<float> Run(params double[] losses) => Rates(plateau, model, losses);

        Assert.Equal([1f, 0.5f, 0.5f, 0.25f, 0.25f, 0.125f], Run(1.0, 1.0, 1.0, 1.0, 1.0, 1.0));

        // A second training with the same callback starts from no best, as Keras's on_train_begin resets it: losses all
        // above the first training's best still improve on each other, and nothing is reduced.
        sgd.LearningRate = 1f;
        Assert.Equal([1f, 1f, 1f], Run(5.0, 4.0, 3.0));
    }

    // One training of the callback on scripted epoch losses: the rate after each epoch.
    private static List<float> Rates(ReduceLROnPlateau plateau, Sequential model, double[] losses)
    {
        var rates = new List<float>();
        var context = new TrainingContext(model, losses.Length, 1, 32, new History());
        plateau.OnTrainBegin(context);
        for (int epoch = 1; epoch <= losses.Length; epoch++)
        {
            plateau.OnEpochEnd(new EpochMetrics(epoch, losses[epoch - 1], double.NaN, null, null, 0), context);
            rates.Add(model.Optimizer!.LearningRate);
        }

        return rates;
    }

    [Fact]
    public void A_schedule_of_every_step_beside_another_rate_changer_is_refused_before_training()
    {
        // The schedule set its rate again before every step: ReduceLROnPlateau listed its reductions
        // ("epoch 1: 0.1 -> 0.01") while every step used the schedule's rate, and of a per-epoch function the epoch's
        // first step alone took its rate. Keras refuses to set the rate of an optimizer built with a schedule.
        var (x, y) = Training.FitTests.Blobs(32, 3);
        foreach (Callback other in new Callback[] { new ReduceLROnPlateau("loss", patience: 0), new LearningRateScheduler((_, rate) => rate / 2) })
        {
            var model = new Sequential(2, 4).Add(new Dense(4));
            model.Compile(new SoftmaxCrossEntropy(), new Sgd(0.1f));
            var schedule = new LearningRateScheduler(new CosineDecay(0.1f, 100));
            var e = Assert.Throws<InvalidOperationException>(() => model.Fit(x, y, new FitOptions { Epochs = 2, Callbacks = [other, schedule] }));
            Assert.Contains($"LearningRateScheduler's schedule sets the learning rate before every step, so what {other.GetType().Name} sets", e.Message, StringComparison.Ordinal);
            Assert.Equal(0, model.EpochsTrained);
        }
    }

    [Fact]
    public void Cosine_decay_names_bad_arguments()
    {
        Assert.Equal("decaySteps", Assert.Throws<ArgumentOutOfRangeException>(() => new CosineDecay(0.1f, 0)).ParamName);
        Assert.Equal("alpha", Assert.Throws<ArgumentOutOfRangeException>(() => new CosineDecay(0.1f, 10, alpha: 1.5f)).ParamName);
        Assert.Equal("warmupSteps", Assert.Throws<ArgumentOutOfRangeException>(() => new CosineDecay(0.1f, 10, warmupSteps: 5)).ParamName);
        Assert.Throws<ArgumentOutOfRangeException>(() => new CosineDecay(float.NaN, 10));
        Assert.Throws<ArgumentOutOfRangeException>(() => new CosineDecay(0.1f, 10).Rate(-1));

        // A rate of 0 is a start only for a warmup: Keras's own example warms up from 0 to 0.1 over 1,000 steps.
        Assert.Equal("InitialLearningRate", Assert.Throws<ArgumentOutOfRangeException>(() => new CosineDecay(0f, 10)).ParamName);
        Assert.Throws<ArgumentOutOfRangeException>(() => new CosineDecay(-0.1f, 10, warmupTarget: 0.1f, warmupSteps: 5));
        var fromZero = new CosineDecay(0f, 1000, warmupTarget: 0.1f, warmupSteps: 1000);
        Assert.Equal(0f, fromZero.Rate(0));
        Assert.Equal(0.05f, fromZero.Rate(500), 6);
        Assert.Equal(0.1f, fromZero.Rate(1000), 6);
    }

    [Fact]
    public void The_scheduler_sets_each_steps_rate_and_the_optimizer_uses_it()
    {
        var (x, y) = Training.FitTests.Blobs(64, 3);
        var schedule = new CosineDecay(0.01f, 8);
        var seen = new List<float>();
        var model = new Sequential(2, 4).Add(new Dense(4));
        var adam = new Adam();
        model.Compile(new SoftmaxCrossEntropy(), adam);
        model.Fit(x, y, new FitOptions
        {
            Epochs = 2,
            BatchSize = 16,
            Shuffle = false,
            Callbacks = [new LearningRateScheduler(schedule), new Recorder(seen)],
        });

        // The recorder runs after the scheduler: after step s it sees the rate set for step s + 1.
        Assert.Equal(8, seen.Count);
        for (int s = 0; s < 8; s++)
        {
            Assert.Equal(schedule.Rate(s + 1), seen[s]);
        }

        // Same rates by hand: a model stepped with those rates ends with the same weights.
        var manual = new Sequential(2, 4).Add(new Dense(4));
        var manualAdam = new Adam();
        manual.Compile(new SoftmaxCrossEntropy(), manualAdam);
        for (int s = 0; s < 8; s++)
        {
            manualAdam.LearningRate = schedule.Rate(s);
            int first = (s % 4) * 16;
            manual.TrainStep(x.AsSpan(first * 2, 32), y.AsSpan(first, 16), 16);
        }

        Assert.True(manual.Parameters.Span.SequenceEqual(model.Parameters.Span), "scheduled training differs from stepping by hand");
    }

    [Fact]
    public void Per_epoch_scheduler_gets_keras_epoch_numbers_and_the_current_rate()
    {
        var (x, y) = Training.FitTests.Blobs(32, 5);
        var calls = new List<(int Epoch, float Rate)>();
        var model = new Sequential(2, 4).Add(new Dense(4));
        model.Compile(new SoftmaxCrossEntropy(), new Sgd(new SgdOptions(0.5f)));
        model.Fit(x, y, new FitOptions
        {
            Epochs = 3,
            BatchSize = 32,
            Callbacks = [new LearningRateScheduler((epoch, rate) => { calls.Add((epoch, rate)); return rate / 2; })],
        });
        Assert.Equal([(0, 0.5f), (1, 0.25f), (2, 0.125f)], calls);
        Assert.Equal(0.0625f, model.Optimizer!.LearningRate);
    }

    [Fact]
    public void A_schedule_that_overflows_is_named_with_its_step()
    {
        // The optimizer's own check said only "Expected a non-negative, finite learningRate. Received: Infinity".
        var model = new Sequential(2, seed: 1).Add(new Dense(1));
        model.Compile(new MeanSquaredError(), new Sgd());
        // Zero inputs and targets: the gradients are 0, so the rates of 1e17 and 1e37 before the overflow move nothing
        // (on inputs that they move, the update overflows first and is undone, which stops Fit before step 3).
        var data = new Dataset(new float[16], new float[8], 2, 1);
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => model.Fit(data, new FitOptions
        {
            Epochs = 1,
            BatchSize = 1,
            Shuffle = false,
            Callbacks = [new LearningRateScheduler(new ExponentialDecay(1e-3f, 1, 1e20f))],
        }));
        Assert.Contains("ExponentialDecay, at step 3, gave a learning rate of Infinity", e.Message, StringComparison.Ordinal);

        var perEpoch = Assert.Throws<ArgumentOutOfRangeException>(() => model.Fit(data, new FitOptions
        {
            Epochs = 1,
            Callbacks = [new LearningRateScheduler((_, _) => float.NaN)],
        }));
        Assert.Contains("The per-epoch schedule function, for epoch 0 (counted from 0), gave a learning rate of NaN", perEpoch.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Learning_rate_rejects_negative_and_non_finite_values()
    {
        var adam = new Adam();
        Assert.Equal(1e-3f, adam.LearningRate);
        Assert.Throws<ArgumentOutOfRangeException>(() => adam.LearningRate = -1e-3f);
        Assert.Throws<ArgumentOutOfRangeException>(() => adam.LearningRate = float.NaN);
        adam.LearningRate = 0f;
        Assert.Throws<ArgumentOutOfRangeException>(() => new Sgd().LearningRate = float.PositiveInfinity);
    }

    public static TheoryData<string> Schedules() => ["cosine", "cosine_warmup", "exponential", "piecewise", "one_cycle"];

    private static LearningRateSchedule Schedule(string name) => name switch
    {
        "cosine" => new CosineDecay(0.05f, 7, alpha: 0.1f),
        "cosine_warmup" => new CosineDecay(0.001f, 6, warmupTarget: 0.05f, warmupSteps: 3),
        "exponential" => new ExponentialDecay(0.05f, 2, 0.5f, staircase: true),
        "piecewise" => new PiecewiseConstantDecay([2, 5], [0.05f, 0.02f, 0.005f]),
        _ => new OneCycle(0.05f, 10, pctStart: 0.4),
    };

    [Theory]
    [MemberData(nameof(Schedules))]
    public void An_optimizers_own_schedule_trains_as_the_callback_and_survives_a_model_file(string name)
    {
        // Keras's optimizer built with a schedule as its learning rate: each step's rate is the schedule's at the step
        // count, in Fit as in the callback route (the same bits), and the schedule is saved with the model, so a run
        // resumed from its file continues it where it stopped.
        var (x, y) = Training.FitTests.Blobs(64, 3);
        var options = new FitOptions { Epochs = 2, BatchSize = 16, Shuffle = false };

        var byCallback = new Sequential(2, 4).Add(new Dense(4)).Add(new Relu()).Add(new Dense(4));
        byCallback.Compile(new SoftmaxCrossEntropy(), new Adam());
        byCallback.Fit(x, y, options with { Callbacks = [new LearningRateScheduler(Schedule(name))] });

        var owned = new Sequential(2, 4).Add(new Dense(4)).Add(new Relu()).Add(new Dense(4));
        var adam = new Adam { Schedule = Schedule(name) };
        Assert.Equal(Schedule(name).Rate(0), adam.LearningRate);
        owned.Compile(new SoftmaxCrossEntropy(), adam);
        owned.Fit(x, y, options with { Epochs = 1 });
        Assert.Equal(Schedule(name).Rate(3), adam.LearningRate); // the rate of the last step begun, step 3

        string file = Path.Combine(Path.GetTempPath(), $"neuralcore-schedule-{Guid.NewGuid():N}.ncm");
        try
        {
            ModelFile.Save(owned, file);
            Sequential resumed = ModelFile.Load(file);
            var restored = (Optimizer)resumed.Optimizer!;
            Assert.Equal(adam.Schedule!.GetType(), restored.Schedule!.GetType());
            for (long s = 0; s < 12; s++)
            {
                Assert.Equal(adam.Schedule.Rate(s), restored.Schedule.Rate(s));
            }

            resumed.Fit(x, y, options with { Epochs = 2, InitialEpoch = 1 });
            Assert.Equal(8, restored.Iterations);
            Assert.True(byCallback.Parameters.Span.SequenceEqual(resumed.Parameters.Span), "the optimizer's own schedule, saved and resumed, trained otherwise than the callback");
        }
        finally
        {
            File.Delete(file);
        }
    }

    [Fact]
    public void A_training_loop_of_ones_own_follows_the_optimizers_schedule()
    {
        // The callback runs in Fit only; a schedule the optimizer owns applies to TrainStep as well.
        var (x, y) = Training.FitTests.Blobs(32, 3);
        var schedule = new PiecewiseConstantDecay([1], [0.1f, 0f]);
        var model = new Sequential(2, 4).Add(new Dense(4));
        model.Compile(new SoftmaxCrossEntropy(), new Sgd { Schedule = schedule });
        model.TrainStep(x.AsSpan(0, 32), y.AsSpan(0, 16), 16);
        float[] afterFirst = model.Parameters.ToArray();
        model.TrainStep(x.AsSpan(0, 32), y.AsSpan(0, 16), 16);
        float[] afterSecond = model.Parameters.ToArray();
        model.TrainStep(x.AsSpan(32, 32), y.AsSpan(16, 16), 16);

        // Steps 0 and 1 at 0.1 move the weights; step 2 at a rate of 0 leaves them.
        Assert.False(afterFirst.AsSpan().SequenceEqual(afterSecond));
        Assert.True(model.Parameters.Span.SequenceEqual(afterSecond));
        Assert.Equal(0f, model.Optimizer!.LearningRate);
    }

    [Fact]
    public void An_optimizers_schedule_refuses_a_second_rate_setter_and_a_schedule_no_file_can_hold()
    {
        var (x, y) = Training.FitTests.Blobs(32, 3);
        var sgd = new Sgd { Schedule = new ExponentialDecay(0.1f, 10, 0.5f) };
        var e = Assert.Throws<InvalidOperationException>(() => sgd.LearningRate = 0.01f);
        Assert.Contains("follows its schedule (ExponentialDecay)", e.Message, StringComparison.Ordinal);
        foreach (Callback other in new Callback[] { new ReduceLROnPlateau("loss", patience: 0), new LearningRateScheduler((_, rate) => rate / 2), new LearningRateScheduler(new CosineDecay(0.1f, 10)) })
        {
            var model = new Sequential(2, 4).Add(new Dense(4));
            model.Compile(new SoftmaxCrossEntropy(), new Sgd { Schedule = new ExponentialDecay(0.1f, 10, 0.5f) });
            e = Assert.Throws<InvalidOperationException>(() => model.Fit(x, y, new FitOptions { Epochs = 2, Callbacks = [other] }));
            Assert.Contains($"{other.GetType().Name} sets the learning rate, but {model.Optimizer!.Name} follows its own schedule (ExponentialDecay)", e.Message, StringComparison.Ordinal);
            Assert.Equal(0, model.EpochsTrained);
        }

        // Null returns to a constant rate: the schedule's last one.
        sgd.Schedule = null;
        Assert.Equal(0.1f, sgd.LearningRate);
        sgd.LearningRate = 0.01f;

        // A schedule of one's own trains, but a model file cannot rebuild it: refused, and no file is left.
        var custom = new Sequential(2, 4).Add(new Dense(4));
        custom.Compile(new SoftmaxCrossEntropy(), new Sgd { Schedule = new Halving() });
        custom.Fit(x, y, new FitOptions { Epochs = 1, BatchSize = 16 });
        Assert.Equal(0.05f, custom.Optimizer!.LearningRate); // two steps: the rate of step 1
        string file = Path.Combine(Path.GetTempPath(), $"neuralcore-schedule-{Guid.NewGuid():N}.ncm");
        var refused = Assert.Throws<NotSupportedException>(() => ModelFile.Save(custom, file));
        Assert.Contains("Halving", refused.Message, StringComparison.Ordinal);
        Assert.False(File.Exists(file));

        // A rate that overflows is named with its step, by the optimizer as by the callback.
        var overflow = new Sgd { Schedule = new ExponentialDecay(1e-3f, 1, 1e20f) };
        overflow.Initialize(2);
        overflow.Update(new float[2], new float[2]);
        overflow.Update(new float[2], new float[2]);
        overflow.Update(new float[2], new float[2]);
        var bad = Assert.Throws<ArgumentOutOfRangeException>(() => overflow.Update(new float[2], new float[2]));
        Assert.Contains("ExponentialDecay, at step 3, gave a learning rate of Infinity", bad.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_schedule_too_long_for_the_file_is_refused_at_save_not_at_load()
    {
        // 1,000 boundaries make a config string of about 6,000 bytes; Load reads at most 4,096 a string. Before, Save
        // wrote such strings unchecked and the file was then refused by Load.
        long[] boundaries = [.. Enumerable.Range(1, 1000).Select(i => (long)i * 10)];
        float[] values = [.. Enumerable.Range(0, 1001).Select(i => 0.1f / (i + 1))];
        var model = new Sequential(2, 4).Add(new Dense(4));
        model.Compile(new SoftmaxCrossEntropy(), new Sgd { Schedule = new PiecewiseConstantDecay(boundaries, values) });
        string file = Path.Combine(Path.GetTempPath(), $"neuralcore-schedule-{Guid.NewGuid():N}.ncm");
        var e = Assert.Throws<ArgumentException>(() => ModelFile.Save(model, file));
        Assert.Contains("The model cannot be saved: sgd's config value 'schedule_boundaries'", e.Message, StringComparison.Ordinal);
        Assert.Contains("the model file stores at most 4096", e.Message, StringComparison.Ordinal);
        Assert.False(File.Exists(file));
    }

    private sealed class Halving : LearningRateSchedule
    {
        public override float Rate(long iteration) => 0.1f / (1 << (int)Math.Min(iteration, 20));
    }

    private sealed class Recorder(List<float> seen) : Callback
    {
        public override void OnBatchEnd(int epoch, int batch, TrainStepResult result, TrainingContext context) =>
            seen.Add(context.Model.Optimizer!.LearningRate);
    }
}
