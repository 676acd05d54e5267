using System.Text.Json;
using Notifications.Api.Inbox;

namespace Notifications.Tests.Inbox;

public sealed class StoredDataTests
{
    [Theory]
    [InlineData("""{"a":"plain"}""")]
    [InlineData("""{"a":"\ud83d\ude00"}""")]
    [InlineData("""{"a":"C:\\ud800"}""")]
    [InlineData("""{"a":"\\\ud83d\ude00"}""")]
    [InlineData("""{"a":"\u00e9\n"}""")]
    public void Text_without_a_lone_surrogate_is_left_as_it_is(string json) =>
        Assert.Same(json, StoredData.WithoutLoneSurrogates(json));

    [Theory]
    [InlineData("""{"a":"x\ud800y"}""", "x\uFFFDy")]
    [InlineData("""{"a":"\udc00\ud800"}""", "\uFFFD\uFFFD")]
    [InlineData("""{"a":"\ud800\ud800\udc00"}""", "\uFFFD\U00010000")]
    [InlineData("""{"a":"\\\ud800"}""", "\\\uFFFD")]
    [InlineData("""{"a":"end\ud800"}""", "end\uFFFD")]
    [InlineData("{\"a\":\"raw \uD83D\uDE00 pair\"}", "raw \U0001F600 pair")]
    public void A_lone_half_reads_as_a_replacement_character(string json, string expected)
    {
        var data = StoredData.Parse(json)!.Value;
        Assert.Equal(expected, data.GetProperty("a").GetString());
        Assert.Equal(expected, JsonElement.Parse(JsonSerializer.Serialize(data)).GetProperty("a").GetString());
    }

    [Fact]
    public void A_raw_lone_half_reads_as_a_replacement_character_too()
    {
        // Built here, not in InlineData: the test runner's own serialization would already replace the half.
        var json = "{\"a\":\"raw" + '\uD800' + " half\"}";
        Assert.Equal("raw\uFFFD half", StoredData.Parse(json)!.Value.GetProperty("a").GetString());
    }
}
