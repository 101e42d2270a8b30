include $(sort $(wildcard $(BR2_EXTERNAL_JOREN_PATH)/package/*/*.mk))
