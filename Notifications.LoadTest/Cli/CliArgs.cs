using System.Globalization;

namespace Notifications.LoadTest.Cli;

/// <summary>Minimal `--key value` / `--flag` parser. Keys may repeat (e.g. --server-env).</summary>
public sealed class CliArgs
{
    private readonly Dictionary<string, List<string>> _values = new(StringComparer.OrdinalIgnoreCase);
    private readonly HashSet<string> _used = new(StringComparer.OrdinalIgnoreCase);

    public CliArgs(IReadOnlyList<string> args, int start)
    {
        for (var i = start; i < args.Count; i++)
        {
            var a = args[i];
            if (!a.StartsWith("--", StringComparison.Ordinal))
            {
                throw new ArgumentException($"unexpected argument '{a}' (options start with --)");
            }

            var key = a[2..];
            string value;
            var eq = key.IndexOf('=', StringComparison.Ordinal);
            if (eq > 0)
            {
                value = key[(eq + 1)..];
                key = key[..eq];
            }
            else if (i + 1 < args.Count && !args[i + 1].StartsWith("--", StringComparison.Ordinal))
            {
                value = args[++i];
            }
            else
            {
                value = "true";
            }

            if (!_values.TryGetValue(key, out var list))
            {
                list = [];
                _values[key] = list;
            }

            list.Add(value);
        }
    }

    public bool Has(string key)
    {
        _used.Add(key);
        return _values.ContainsKey(key);
    }

    public string? Get(string key)
    {
        _used.Add(key);
        return _values.TryGetValue(key, out var list) ? list[^1] : null;
    }

    public string Get(string key, string fallback) => Get(key) ?? fallback;

    public IReadOnlyList<string> GetAll(string key)
    {
        _used.Add(key);
        return _values.TryGetValue(key, out var list) ? list : [];
    }

    public bool Flag(string key)
    {
        var v = Get(key);
        return v is not null && !string.Equals(v, "false", StringComparison.OrdinalIgnoreCase) && v != "0";
    }

    public int GetInt(string key, int fallback)
    {
        var v = Get(key);
        return v is null ? fallback : ParseInt(key, v);
    }

    /// <summary>An integer of at least <paramref name="min"/>: a lower value is a usage error, never silently raised.</summary>
    public int GetInt(string key, int fallback, int min)
    {
        var v = GetInt(key, fallback);
        return v >= min ? v : throw new ArgumentException($"--{key}: {v} is out of range (at least {min})");
    }

    public double GetDouble(string key, double fallback)
    {
        var v = Get(key);
        if (v is null)
        {
            return fallback;
        }

        return double.TryParse(v, NumberStyles.Float, CultureInfo.InvariantCulture, out var d) && double.IsFinite(d)
            ? d
            : throw new ArgumentException($"--{key}: '{v}' is not a number");
    }

    /// <summary>A number above zero (a rate, a duration, a timeout): zero or less is a usage error.</summary>
    public double GetPositive(string key, double fallback)
    {
        var v = GetDouble(key, fallback);
        return v > 0 ? v : throw new ArgumentException($"--{key}: {v.ToString(CultureInfo.InvariantCulture)} must be above 0");
    }

    /// <summary>A number of zero or more (a warm-up or pause that may be skipped): below zero is a usage error.</summary>
    public double GetNonNegative(string key, double fallback)
    {
        var v = GetDouble(key, fallback);
        return v >= 0 ? v : throw new ArgumentException($"--{key}: {v.ToString(CultureInfo.InvariantCulture)} must be 0 or more");
    }

    /// <summary>Comma separated integers of at least <paramref name="min"/>, with k suffix allowed (1k, 19k); at least one.</summary>
    public IReadOnlyList<int> GetIntList(string key, IReadOnlyList<int> fallback, int min)
    {
        var v = Get(key);
        if (v is null)
        {
            return fallback;
        }

        var values = v.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Select(s => ParseInt(key, s))
            .ToArray();
        if (values.Length == 0)
        {
            throw new ArgumentException($"--{key}: no value given");
        }

        foreach (var x in values)
        {
            if (x < min)
            {
                throw new ArgumentException($"--{key}: {x} is out of range (at least {min})");
            }
        }

        return values;
    }

    public IReadOnlyList<string> GetList(string key)
    {
        var v = Get(key);
        return v is null
            ? []
            : v.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
    }

    public IEnumerable<string> Unused() => _values.Keys.Where(k => !_used.Contains(k));

    public static int ParseInt(string key, string v)
    {
        var s = v.Trim();
        var mult = 1;
        if (s.EndsWith('k') || s.EndsWith('K'))
        {
            mult = 1000;
            s = s[..^1];
        }
        else if (s.EndsWith('m') || s.EndsWith('M'))
        {
            mult = 1_000_000;
            s = s[..^1];
        }

        if (double.TryParse(s, NumberStyles.Float, CultureInfo.InvariantCulture, out var d) && Math.Abs(d * mult) <= int.MaxValue)
        {
            return (int)Math.Round(d * mult);
        }

        throw new ArgumentException($"--{key}: '{v}' is not an integer");
    }
}
