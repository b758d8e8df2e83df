using MnistMlp;

namespace NeuralCore.Samples.Tests;

public sealed class GuardedTests
{
    [Fact]
    public void An_unforeseen_exception_is_one_sanitized_error_line_and_exit_70_not_a_stack_trace()
    {
        // Only the foreseen exceptions were caught: any other (a bug) printed the runtime's stack trace, with the
        // message's escape sequences raw, instead of one line.
        var error = new StringWriter();
        int exit = Guarded.Run(() => throw new KeyNotFoundException("layer \u001b[2Jx was not found"), error);
        Assert.Equal(Guarded.InternalError, exit);
        Assert.Equal(70, exit);
        Assert.Equal(
            $"error: unexpected KeyNotFoundException: layer ?[2Jx was not found (this is a bug in the trainer){Environment.NewLine}",
            error.ToString());
    }

    [Fact]
    public void Foreseen_failures_keep_their_own_exit_codes()
    {
        var error = new StringWriter();
        Assert.Equal(1, Guarded.Run(() => throw new InvalidDataException("labels.gz: bad magic\nsecond \u001b[31mline"), error));
        Assert.Equal($"error: labels.gz: bad magic{Environment.NewLine}  second ?[31mline{Environment.NewLine}", error.ToString());

        error = new StringWriter();
        Assert.Equal(Trainer.Interrupted, Guarded.Run(() => throw new OperationCanceledException(), error));
        Assert.Equal($"Interrupted.{Environment.NewLine}", error.ToString());

        Assert.Equal(3, Guarded.Run(() => 3, error));
    }
}
