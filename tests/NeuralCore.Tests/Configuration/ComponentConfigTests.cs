using NeuralCore.Configuration;

// Not NeuralCore.Tests.Configuration: that namespace would hide NeuralCore.Configuration from the tests that name it
// as Configuration.ComponentRegistry.
namespace NeuralCore.Tests;

public class ComponentConfigTests
{
    [Fact]
    public void A_null_or_empty_key_is_refused_by_name_and_a_missing_one_is_reported_as_missing()
    {
        ComponentConfig config = new ComponentConfig("dense").Set("units", 3).Set("name", "d");

        // A null or empty key had been read as a key the config lacks: InvalidDataException "the config has no ''" (found by
        // PublicApiMisuseTests).
        Assert.Equal("key", Assert.Throws<ArgumentNullException>(() => config.GetInt32(null!)).ParamName);
        Assert.Equal("key", Assert.Throws<ArgumentNullException>(() => config.GetString(null!, "fallback")).ParamName);
        Assert.Equal("key", Assert.Throws<ArgumentNullException>(() => config.GetSingles(null!)).ParamName);
        Assert.Equal("key", Assert.Throws<ArgumentNullException>(() => config.Contains(null!)).ParamName);
        Assert.Equal("key", Assert.Throws<ArgumentException>(() => config.GetDouble("")).ParamName);

        Assert.Equal("dense: the config has no 'seed'.", Assert.Throws<InvalidDataException>(() => config.GetInt64("seed")).Message);
        Assert.Equal(7L, config.GetInt64("seed", 7));
        Assert.Equal(3, config.GetInt32("units"));
        Assert.False(config.Contains("seed"));
    }
}
