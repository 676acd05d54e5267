using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;
using Notifications.Domain;
using Notifications.Infrastructure.Data;

namespace Notifications.Infrastructure.Configurations;

internal sealed class ReadAllStepConfiguration : IEntityTypeConfiguration<ReadAllStep>
{
    public void Configure(EntityTypeBuilder<ReadAllStep> builder)
    {
        builder.ToTable("ReadAllSteps");

        // Readers look up the step covering an id: the user's first step at or above it, one range of this key.
        builder.HasKey(s => new { s.UserId, s.UpToId });
        builder.Property(s => s.UserId).HasMaxLength(NotificationLimits.MaxUserIdLength);
    }
}
