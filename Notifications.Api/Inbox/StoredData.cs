using System.Globalization;
using System.Text;
using System.Text.Json;

namespace Notifications.Api.Inbox;

/// <summary>A stored notification's <c>data</c> text, read back as JSON that every writer can write.</summary>
internal static class StoredData
{
    /// <summary>
    /// Parses stored <c>data</c>. The send refuses a lone surrogate (a <c>\uD800</c>-<c>\uDFFF</c> escape without its
    /// pair), but rows written before that check, or by hand, may hold one: no string can be read from such text, so
    /// every write of the notification (JSON and MessagePack pushes, Sync, REST) would throw, and over the hub abort its
    /// recipients' connections again on every reconnect. Such a half is read as U+FFFD, as a UTF-8 decoder reads a
    /// broken sequence.
    /// </summary>
    public static JsonElement? Parse(string? data)
    {
        if (data is null)
        {
            return null;
        }

        // Only an escape or a raw surrogate char can be a lone half: most data skips the walk.
        return data.Contains("\\u", StringComparison.Ordinal) || data.AsSpan().ContainsAnyInRange('\uD800', '\uDFFF')
            ? JsonElement.Parse(WithoutLoneSurrogates(data))
            : JsonElement.Parse(data);
    }

    /// <summary>The JSON text with every unpaired surrogate, escaped or raw, replaced by U+FFFD; the rest as it was.</summary>
    internal static string WithoutLoneSurrogates(string json)
    {
        StringBuilder? repaired = null;
        var copiedUpTo = 0;
        var i = 0;
        while (i < json.Length)
        {
            if (json[i] == '\\' && i + 1 < json.Length && json[i + 1] != 'u')
            {
                i += 2; // "\\", "\"" and the like: the next char is not the start of an escape
                continue;
            }

            int length;
            bool lone;
            if (EscapedUnit(json, i) is { } unit)
            {
                var paired = char.IsHighSurrogate(unit) && EscapedUnit(json, i + 6) is { } low && char.IsLowSurrogate(low);
                length = paired ? 12 : 6;
                lone = !paired && char.IsSurrogate(unit);
            }
            else
            {
                var paired = char.IsHighSurrogate(json[i]) && i + 1 < json.Length && char.IsLowSurrogate(json[i + 1]);
                length = paired ? 2 : 1;
                lone = !paired && char.IsSurrogate(json[i]);
            }

            if (lone)
            {
                repaired ??= new StringBuilder(json.Length);
                repaired.Append(json, copiedUpTo, i - copiedUpTo).Append('\uFFFD');
                copiedUpTo = i + length;
            }

            i += length;
        }

        return repaired is null ? json : repaired.Append(json, copiedUpTo, json.Length - copiedUpTo).ToString();
    }

    /// <summary>The UTF-16 unit of a <c>\uXXXX</c> escape starting at <paramref name="at"/>, if one does.</summary>
    private static char? EscapedUnit(string json, int at) =>
        at + 6 <= json.Length && json[at] == '\\' && json[at + 1] == 'u'
        && ushort.TryParse(json.AsSpan(at + 2, 4), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out var unit)
            ? (char)unit
            : null;
}
