using NeuralCore.Data;
using NeuralCore.Layers;
using NeuralCore.Losses;
using NeuralCore.Models;
using NeuralCore.Optimizers;
using NeuralCore.Training;
using static NeuralCore.Tests.Kernels.GemmSplitTests;

namespace NeuralCore.Tests.Training;

/// <summary>
/// Fit's choice between the threads a step's size asks for and one thread, and on several threads between the batch
/// gather's streaming and ordinary stores, from timed blocks of steps: which side it takes, for how long, what it leaves
/// out of the timing, and that a training whose steps switch gives the same bits.
/// </summary>
[Collection(SerialTests.Name)]
public class StepThreadChooserTests
{
    private const int Round = 3 * StepThreadChooser.Block;

    // Runs `steps` steps through the chooser with `time(threads, stepInBlock)` as each step's duration; returns the
    // threads of each step.
    private static int[] Drive(StepThreadChooser chooser, int steps, Func<int, int, long> time, int all = 2)
    {
        int[] threads = new int[steps];
        int previous = 0, run = 0;
        for (int s = 0; s < steps; s++)
        {
            int t = chooser.Threads(all, timed: true);
            run = t == previous ? run + 1 : 0;
            previous = t;
            threads[s] = t;
            chooser.Record(time(t, run), all, timed: true);
        }

        return threads;
    }

    [Fact]
    public void A_step_that_asks_for_one_thread_runs_on_one_and_is_never_timed()
    {
        var chooser = new StepThreadChooser();
        int[] threads = Drive(chooser, 1000, (_, _) => 100, all: 1);
        Assert.All(threads, t => Assert.Equal(1, t));
        Assert.Equal(0, chooser.Rounds);
    }

    // Drives steps until the chooser has taken `decisions` decisions and run that stretch to its last step.
    private static int[] DriveDecisions(StepThreadChooser chooser, int decisions, Func<int, int, long> time, int all = 2)
    {
        var threads = new List<int>();
        int previous = 0, run = 0;
        int target = chooser.Decisions + decisions, lastStretchSteps = 0;
        while (chooser.Decisions < target || lastStretchSteps < chooser.Stretch)
        {
            bool deciding = chooser.Decisions < target;
            int t = chooser.Threads(all, timed: true);
            run = t == previous ? run + 1 : 0;
            previous = t;
            threads.Add(t);
            chooser.Record(time(t, run), all, timed: true);
            lastStretchSteps = deciding ? 0 : lastStretchSteps + 1;
        }

        return [.. threads];
    }

    [Fact]
    public void One_thread_faster_is_chosen_after_the_first_round_for_a_bounded_stretch()
    {
        var chooser = new StepThreadChooser();
        int[] threads = Drive(chooser, (2 * Round) + StepThreadChooser.FirstStretch + 1, (t, _) => t == 1 ? 100 : 190);

        // Each round: a block on all the threads, one on one thread, one on all again.
        int block = StepThreadChooser.Block;
        for (int round = 0; round < 2; round++)
        {
            int start = round * Round;
            Assert.All(threads[start..(start + block)], t => Assert.Equal(2, t));
            Assert.All(threads[(start + block)..(start + (2 * block))], t => Assert.Equal(1, t));
            Assert.All(threads[(start + (2 * block))..(start + Round)], t => Assert.Equal(2, t));
        }

        // The first round is dropped; the second decides for one thread, for the shortest stretch (a first decision).
        Assert.Equal(2, chooser.Rounds);
        Assert.Equal(1, chooser.Decisions);
        Assert.True(chooser.ChoseOne);
        Assert.Equal(StepThreadChooser.FirstStretch, chooser.Stretch);
        Assert.All(threads[(2 * Round)..((2 * Round) + StepThreadChooser.FirstStretch)], t => Assert.Equal(1, t));

        // The next round starts on the side chosen: one thread, then a block on all, then one thread again.
        Assert.Equal(1, threads[^1]);
        int[] next = Drive(chooser, Round - 1, (t, _) => t == 1 ? 100 : 190);
        Assert.All(next[..(block - 1)], t => Assert.Equal(1, t));
        Assert.All(next[(block - 1)..((2 * block) - 1)], t => Assert.Equal(2, t));
        Assert.All(next[((2 * block) - 1)..], t => Assert.Equal(1, t));

        // A later decision with one thread far ahead holds for MaxOneStretch.
        Assert.Equal(2, chooser.Decisions);
        Assert.True(chooser.ChoseOne);
        Assert.Equal(StepThreadChooser.MaxOneStretch, chooser.Stretch);
    }

    [Fact]
    public void One_thread_stretches_double_where_it_is_a_little_ahead()
    {
        var chooser = new StepThreadChooser();
        DriveDecisions(chooser, 1, (t, _) => t == 1 ? 100 : 130);
        Assert.Equal(StepThreadChooser.FirstStretch, chooser.Stretch);
        DriveDecisions(chooser, 1, (t, _) => t == 1 ? 100 : 130);
        Assert.Equal(2 * StepThreadChooser.FirstStretch, chooser.Stretch);
        DriveDecisions(chooser, 3, (t, _) => t == 1 ? 100 : 130);
        Assert.True(chooser.ChoseOne);
        Assert.Equal(StepThreadChooser.MaxOneStretch, chooser.Stretch);
    }

    [Theory]
    [InlineData(2, 190, StepThreadChooser.MaxStretch)]
    [InlineData(16, 1000, 9 * StepThreadChooser.MaxStretch)]
    [InlineData(16, 3000, StepThreadChooser.MaxWideStretch)]
    public void All_threads_far_ahead_keep_them_longer_the_further_ahead_they_are(int all, long oneTime, int stretch)
    {
        var chooser = new StepThreadChooser();
        int[] threads = DriveDecisions(chooser, 3, (t, _) => t == 1 ? oneTime : 100, all);
        Assert.False(chooser.ChoseOne);
        Assert.Equal(stretch, chooser.Stretch);

        // Exactly one block a round on one thread, and none in the stretches.
        Assert.Equal(chooser.Rounds * StepThreadChooser.Block, threads.Count(t => t == 1));
        Assert.Equal(chooser.Rounds * StepThreadChooser.Block, chooser.OneThreadSteps);

        // Their cost, in steps of all the threads, against a stretch and its round.
        double probe = StepThreadChooser.Block * ((oneTime / 100.0) - 1);
        Assert.True(probe / (stretch + Round) < 0.01, $"{probe} step-equivalents of one-thread blocks a stretch of {stretch}");
    }

    [Theory]
    [InlineData(100, 105, StepThreadChooser.FirstStretch)]
    [InlineData(100, 125, 2 * StepThreadChooser.FirstStretch)]
    public void The_stretch_grows_with_the_difference(long allTime, long oneTime, int stretch)
    {
        var chooser = new StepThreadChooser();
        DriveDecisions(chooser, 2, (t, _) => t == 1 ? oneTime : allTime);
        Assert.False(chooser.ChoseOne);
        Assert.Equal(stretch, chooser.Stretch);
    }

    [Fact]
    public void A_first_decision_holds_for_the_shortest_stretch_whatever_the_gap()
    {
        var chooser = new StepThreadChooser();
        DriveDecisions(chooser, 1, (t, _) => t == 1 ? 1000 : 100);
        Assert.False(chooser.ChoseOne);
        Assert.Equal(StepThreadChooser.FirstStretch, chooser.Stretch);
    }

    [Fact]
    public void Another_batch_size_or_thread_limit_starts_afresh_and_the_same_batch_size_carries_over()
    {
        var chooser = new StepThreadChooser();
        chooser.Begin(128);
        DriveDecisions(chooser, 2, (t, _) => t == 1 ? 100 : 190);
        Assert.True(chooser.ChoseOne);

        // The next Fit with the same batch size keeps the decisions.
        chooser.Begin(128);
        Assert.Equal(2, chooser.Decisions);
        Assert.True(chooser.ChoseOne);

        // Another batch size: a first round again, on all the threads first.
        chooser.Begin(64);
        Assert.Equal(0, chooser.Decisions);
        Assert.Equal(0, chooser.Rounds);
        Assert.False(chooser.ChoseOne);
        Assert.Equal(2, chooser.Threads(2, timed: true));

        // A changed thread limit (a callback set DegreeOfParallelism): the same.
        DriveDecisions(chooser, 2, (t, _) => t == 1 ? 100 : 190);
        Assert.True(chooser.ChoseOne);
        Assert.Equal(2, chooser.Decisions);
        Assert.Equal(4, chooser.Threads(4, timed: true));
        Assert.Equal(0, chooser.Decisions);
    }

    [Fact]
    public void The_first_steps_after_a_switch_are_not_timed()
    {
        // Step r of the one-thread block takes 1000 + 10·r: the timed steps are r = Settle .. Block - 1, and the round's
        // time is their mean but the longest (with one settling step fewer it would be 5 less).
        var chooser = new StepThreadChooser();
        Drive(chooser, 2 * Round, (t, run) => t == 1 ? 1000 + (10 * run) : 2000);
        long[] timed = [.. Enumerable.Range(StepThreadChooser.Settle, StepThreadChooser.Block - StepThreadChooser.Settle - 1).Select(r => 1000L + (10 * r))];
        Assert.Equal((2000, (long)timed.Average()), chooser.LastTimes);
        Assert.Equal(1040, (long)timed.Average());
        Assert.True(chooser.ChoseOne);
    }

    [Fact]
    public void A_short_last_batch_runs_on_the_current_choice_and_does_not_count()
    {
        var chooser = new StepThreadChooser();
        Drive(chooser, 2 * Round, (t, _) => t == 1 ? 100 : 190);
        Assert.True(chooser.ChoseOne);
        Assert.Equal(1, chooser.Threads(2, timed: false));

        // In the one-thread block of the second round, an untimed step keeps the choice so far (all threads) and is
        // not counted: the block's next timed step is still on one thread.
        chooser = new StepThreadChooser();
        Drive(chooser, Round + StepThreadChooser.Block, (t, _) => t == 1 ? 190 : 100);
        Assert.Equal(1, chooser.Threads(2, timed: true));
        for (int i = 0; i < 2 * StepThreadChooser.Block; i++)
        {
            Assert.Equal(2, chooser.Threads(2, timed: false));
            chooser.Record(1, 2, timed: false);
        }

        Assert.Equal(1, chooser.Threads(2, timed: true));
        Assert.Equal(1, chooser.Rounds);
    }

    // Runs steps on `all` threads far ahead of one, asking the gather's stores on each multi-thread step (every other
    // one when `skip`: a gather that does not split), with ordinary stores taking `ordinary` and streaming ones
    // `streaming`; returns each multi-thread step's answer (true: streaming; null: not asked).
    private static List<bool?> DriveStores(StepThreadChooser chooser, int steps, long streaming, long ordinary, bool skip = false, int all = 2)
    {
        var ways = new List<bool?>();
        for (int s = 0; s < steps; s++)
        {
            int t = chooser.Threads(all, timed: true);
            bool? streams = t == 1 || (skip && s % 2 == 1) ? null : chooser.StreamingGather(timed: true);
            if (t > 1)
            {
                ways.Add(streams);
            }

            chooser.Record(t == 1 ? 1000 : streams == false ? ordinary : streaming, all, timed: true);
        }

        return ways;
    }

    [Fact]
    public void The_gather_stores_of_the_faster_steps_are_chosen_in_the_stretches_on_all_threads()
    {
        var chooser = new StepThreadChooser();
        List<bool?> ways = DriveStores(chooser, 4000, streaming: 110, ordinary: 100);

        // Nothing but the chosen stores (streaming at first) until the threads' first decision: the all-thread blocks of
        // the threads' first two rounds (two a round) time the threads, not the stores; the stores' first middle block
        // follows the first of their own round.
        int block = StepThreadChooser.Block;
        Assert.All(ways[..(5 * block)], w => Assert.True(w));
        Assert.All(ways[(5 * block)..(6 * block)], w => Assert.False(w));
        Assert.True(chooser.Stores.ChoseOrdinary);
        Assert.True(chooser.Stores.Decisions >= 1);
        Assert.Equal((110, 100), chooser.Stores.LastTimes);

        // Once ordinary stores were chosen, the thread rounds' all-thread blocks ran them throughout (no block mixing the
        // two ways: its time would lie between 100 and 110).
        Assert.False(chooser.ChoseOne);
        Assert.Equal(100, chooser.LastTimes.First);

        // Another batch size, or another thread limit, starts both choices afresh.
        chooser.Begin(64);
        Assert.Equal(0, chooser.Stores.Rounds);
        Assert.False(chooser.Stores.ChoseOrdinary);
        DriveStores(chooser, 4000, streaming: 110, ordinary: 100);
        Assert.True(chooser.Stores.ChoseOrdinary);
        chooser.Threads(3, timed: true);
        Assert.Equal(0, chooser.Stores.Rounds);
        Assert.False(chooser.Stores.ChoseOrdinary);
    }

    [Fact]
    public void Only_the_steps_whose_gather_splits_time_the_stores()
    {
        // Every other two-thread step does not ask (its gather runs on one thread): the stores' rounds count the others.
        var chooser = new StepThreadChooser();
        List<bool?> asking = DriveStores(chooser, 4000, streaming: 110, ordinary: 100, skip: true);
        var every = new StepThreadChooser();
        List<bool?> all = DriveStores(every, 4000, streaming: 110, ordinary: 100);
        Assert.True(chooser.Stores.ChoseOrdinary);
        Assert.InRange(chooser.Stores.Rounds, 2, every.Stores.Rounds - 1);
        Assert.Contains(asking, w => w is null);
        Assert.DoesNotContain(all, w => w is null);
    }

    [Fact]
    public void A_short_last_batch_does_not_break_off_a_round_of_the_stores()
    {
        // Epochs of 30 full batches and a short last one (untimed, its gather still split): the stores' rounds go on
        // across it, as the threads' do, and come out as without the short batches.
        var plain = new StepThreadChooser();
        var epochs = new StepThreadChooser();
        DriveStores(plain, 3000, streaming: 110, ordinary: 100);
        for (int epoch = 0; epoch < 100; epoch++)
        {
            DriveStores(epochs, 30, streaming: 110, ordinary: 100);
            Assert.Equal(2, epochs.Threads(2, timed: false));
            epochs.StreamingGather(timed: false);
            epochs.Record(1, 2, timed: false);
        }

        Assert.Equal(plain.Stores.Rounds, epochs.Stores.Rounds);
        Assert.Equal(plain.Stores.Decisions, epochs.Stores.Decisions);
        Assert.True(epochs.Stores.ChoseOrdinary);
    }

    [Fact]
    public void Streaming_gather_stores_stay_where_they_are_faster()
    {
        var chooser = new StepThreadChooser();
        List<bool?> ways = DriveStores(chooser, 20_000, streaming: 100, ordinary: 120);
        Assert.True(chooser.Stores.Decisions >= 2);
        Assert.False(chooser.Stores.ChoseOrdinary);

        // Ordinary stores ran in the rounds' middle blocks only: one block a round, and at most one more for each
        // round broken off by the threads' own round.
        int ordinary = ways.Count(w => w == false);
        Assert.InRange(ordinary, chooser.Stores.Rounds * StepThreadChooser.Block, (chooser.Stores.Rounds + chooser.Rounds) * StepThreadChooser.Block);
    }

    [Fact]
    public void A_one_thread_step_never_times_the_stores()
    {
        // One thread far ahead: the stores are asked on the steps that run on all threads, but never timed there.
        var chooser = new StepThreadChooser();
        for (int s = 0; s < 2000; s++)
        {
            int t = chooser.Threads(2, timed: true);
            Assert.True(chooser.StreamingGather(timed: true), $"step {s} on {t} thread(s) was given ordinary stores");
            chooser.Record(t == 1 ? 100 : 1000, 2, timed: true);
        }

        Assert.True(chooser.ChoseOne);
        Assert.Equal(0, chooser.Stores.Rounds);
        Assert.Equal(0, chooser.OrdinaryGathers);
    }

    [Fact]
    public void A_training_whose_steps_switch_threads_or_stores_gives_the_same_bits()
    {
        // 60 steps of 128 MNIST-sized rows (the batch gathered in parts on two threads): the first two rounds (48 steps)
        // run blocks on one thread and on two, and the rest runs on whichever the timing chose. A chooser primed
        // beforehand with ordinary stores ahead runs all its steps on two threads with the gathered batch kept in the
        // caches: they fall in the middle of both choices' stretches.
        const int features = 784, count = 60 * 128;
        byte[] bytes = new byte[count * features];
        new Random(5).NextBytes(bytes);
        int[] labels = [.. Enumerable.Range(0, count).Select(i => bytes[i * features] % 10)];
        Dataset data = Dataset.FromBytes(bytes, labels, features, 255f);

        (float[] Parameters, float[] State, History History, long OneThreadSteps, long OrdinaryGathers) Train(int threads, bool measure, bool primed = false)
        {
            var model = new Sequential(features, seed: 3).Add(new Dense(96)).Add(new Relu()).Add(new Dense(10));
            model.Compile(new SoftmaxCrossEntropy(), new Adam(1e-3f));

            // The size rule alone would keep so small a step on one thread.
            model.StepThreshold = 1;
            StepThreadChooser chooser = ModelTraining.StepChooser(model, 128);
            if (primed)
            {
                DriveStores(chooser, 4000, streaming: 110, ordinary: 100);
                Assert.True(chooser.Stores.ChoseOrdinary);
            }

            (long one, long ordinary) = (chooser.OneThreadSteps, chooser.OrdinaryGathers);
            History history = null!;
            WithThreads(threads, () =>
            {
                Assert.Equal(threads, model.StepThreads(128));
                history = model.Fit(data, new FitOptions { Epochs = 1, BatchSize = 128, Seed = 2, MeasureStepThreads = measure });
            });
            return (model.Parameters.ToArray(), ((Optimizer)model.Optimizer!).State.ToArray(), history,
                chooser.OneThreadSteps - one, chooser.OrdinaryGathers - ordinary);
        }

        var expected = Train(1, measure: false);
        foreach ((string what, bool measure, bool primed) in new[]
        {
            ("two threads, every step", false, false),
            ("two threads, steps chosen by timing", true, false),
            ("two threads, ordinary stores chosen beforehand", true, true),
        })
        {
            var actual = Train(2, measure, primed);
            AssertBitwiseEqual(expected.Parameters, actual.Parameters, what + ": parameters");
            AssertBitwiseEqual(expected.State, actual.State, what + ": optimizer state");
            Assert.Equal(expected.History.Loss, actual.History.Loss);
            Assert.Equal(expected.History.Accuracy, actual.History.Accuracy);

            // The timed training did run steps on one thread (at least the first two rounds' blocks); the primed one ran
            // on two threads with ordinary stores but for a block; the fixed one did neither.
            if (primed)
            {
                Assert.Equal(0, actual.OneThreadSteps);
                Assert.Equal(60, actual.OrdinaryGathers);
            }
            else if (measure)
            {
                Assert.InRange(actual.OneThreadSteps, 2 * StepThreadChooser.Block, 60);
            }
            else
            {
                Assert.Equal(0, actual.OneThreadSteps);
                Assert.Equal(0, actual.OrdinaryGathers);
            }
        }
    }
}
