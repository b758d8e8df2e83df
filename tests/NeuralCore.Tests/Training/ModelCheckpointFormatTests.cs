using NeuralCore.Training;

namespace NeuralCore.Tests.Training;

public sealed class ModelCheckpointFormatTests
{
    [Theory]
    [InlineData("{val_loss:.99999999999f}")]
    [InlineData("{val_loss:.1000e}")]
    [InlineData("{epoch:01000d}")]
    public void Checkpoint_formats_with_widths_or_precisions_over_three_digits_are_refused_as_formats(string placeholder)
    {
        // .99999999999f threw an OverflowException from int.Parse; .999999999f was accepted and formatted a billion zeros.
        var bad = Assert.Throws<ArgumentException>(() => new ModelCheckpoint($"m-{placeholder}.ncm"));
        Assert.Contains(placeholder, bad.Message, StringComparison.Ordinal);
    }
}
