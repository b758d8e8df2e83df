using MnistMlp;

namespace NeuralCore.Samples.Tests;

public class OutputsTests
{
    [Fact]
    public void Every_writer_runs_and_a_failure_comes_back_as_itself()
    {
        int ran = 0;
        var failure = Assert.Throws<IOException>(() => Outputs.Together(
            () => Interlocked.Increment(ref ran),
            () => throw new IOException("report.md: disk full"),
            () => Interlocked.Increment(ref ran)));

        // The trainer's error handling catches IOException and prints its message: not an AggregateException.
        Assert.Equal("report.md: disk full", failure.Message);
        Assert.Equal(2, ran);
    }

    [Fact]
    public void A_writer_on_another_thread_is_joined_with_its_own_exception()
    {
        Task writer = Task.Run(() => throw new UnauthorizedAccessException("curves.png: permission denied"));
        var failure = Assert.Throws<UnauthorizedAccessException>(() => Outputs.Join(writer));
        Assert.Equal("curves.png: permission denied", failure.Message);
    }
}
